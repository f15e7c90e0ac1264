"""``--push-to-hub``: upload an exported folder to a Hugging Face Hub model repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage.errors import UUEError


def push_to_hub(folder: str | Path, repo_id: str, *, private: bool = True, token: str | None = None,
                api: Any = None) -> str:
    """Create ``repo_id`` (if needed) and upload ``folder``; the URL of the commit. The token is
    ``token``, else ``$HF_TOKEN`` or the one ``hf auth login`` saved; none → a clear refusal."""
    from huggingface_hub import HfApi, get_token

    token = token or get_token()
    if not token:
        raise UUEError("no Hugging Face token: run `hf auth login` or set HF_TOKEN, then push again "
                       f"(the export in {folder} is complete without it)")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise UUEError(f"--push-to-hub takes OWNER/NAME, not {repo_id!r}")
    api = api or HfApi(token=token)
    api.create_repo(repo_id=repo_id, repo_type="model", private=private, exist_ok=True)
    info = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model",
                             commit_message="Upload UUE model (sentence-transformers + user side)")
    return str(getattr(info, "commit_url", info))
