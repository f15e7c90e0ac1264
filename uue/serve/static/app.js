// The UUE page: calls the JSON API of the server that served it. Text goes into the page
// with textContent only (never innerHTML), so stored user text cannot inject markup.
"use strict";

const $ = (id) => document.getElementById(id);
let currentStatement = "";
let currentUser = "";

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

async function api(path, request) {
  const init = { headers: { Accept: "application/json" } };
  if (request !== undefined) {  // a JSON body: POST it
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(request);
  }
  const response = await fetch(path, init);
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
}

function showError(error) {
  $("error").textContent = error ? String(error.message || error) : "";
  $("error").hidden = !error;
}

function filterParams() {
  const params = new URLSearchParams();
  for (const line of $("where").value.split("\n")) if (line.trim()) params.append("where", line.trim());
  if ($("since").value.trim()) params.set("since", $("since").value.trim());
  if ($("until").value.trim()) params.set("until", $("until").value.trim());
  return params;
}

// A compound field: one input per line, "TEXT" or "TEXT^WEIGHT" (the CLI's syntax; the server checks the rest).
function weighted(id) {
  const out = [];
  for (const raw of $(id).value.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    const cut = line.lastIndexOf("^");
    if (cut < 0) { out.push({ text: line, weight: 1 }); continue; }
    const weight = Number(line.slice(cut + 1).trim());
    if (!line.slice(cut + 1).trim() || !Number.isFinite(weight) || weight <= 0) {
      throw new Error(`“${line}”: the text after ^ must be a weight, a number above 0 (e.g. likes dogs^0.5)`);
    }
    out.push({ text: line.slice(0, cut).trim(), weight });
  }
  return out;
}

function compoundBody() {
  const body = { statements: weighted("also"), not_statements: weighted("not"),
                 like_users: weighted("like"), unlike_users: weighted("unlike") };
  if (!Object.values(body).some((list) => list.length)) return null;
  if (currentStatement) body.statements.unshift({ text: currentStatement, weight: 1 });
  body.where = $("where").value.split("\n").map((l) => l.trim()).filter(Boolean);
  for (const key of ["since", "until"]) if ($(key).value.trim()) body[key] = $(key).value.trim();
  body.k = Number($("k").value || "10");
  body.explain = $("explain").checked;
  return body;
}

function chunkItem(chunk) {
  const li = el("li");
  const when = [chunk.timestamp, chunk.platform].filter(Boolean).join(" · ");
  if (when) li.append(el("span", when, "when"));
  if (chunk.score !== undefined) li.append(el("span", chunk.score.toFixed(3) + " ", "score"));
  li.append(el("span", chunk.text));
  return li;
}

function userButton(userId) {
  const button = el("button", userId, "user-link");
  button.type = "button";
  button.dataset.user = userId;
  button.addEventListener("click", () => openUser(userId));
  return button;
}

async function findAudience(event) {
  event.preventDefault();
  showError(null);
  currentStatement = $("statement").value.trim();
  const params = filterParams();
  params.set("text", currentStatement);
  params.set("k", $("k").value || "10");
  if ($("explain").checked) params.set("explain", "true");
  if ($("interests").checked) params.set("interests", "true");
  $("status").textContent = "searching…";
  try {
    const compound = compoundBody();
    if (!compound && !currentStatement) throw new Error("give a statement (or a compound audience below)");
    if (compound && $("interests").checked) {
      throw new Error("a compound audience uses the single user vectors: untick “by interests”");
    }
    const hits = compound ? await api("/audience/compound", compound) : await api("/audience?" + params);
    const list = $("audience");
    list.replaceChildren();
    const top = hits.length ? Math.max(...hits.map((h) => h.score), 1e-6) : 1;
    for (const hit of hits) {
      const li = el("li");
      li.className = "audience-hit";
      const row = el("div", null, "hit");
      const bar = el("div", null, "bar");
      bar.style.width = `${Math.max(2, 120 * Math.max(hit.score, 0) / top)}px`;
      row.append(userButton(hit.user_id), el("span", hit.score.toFixed(4), "score"), bar);
      li.append(row);
      if (hit.explanation) {
        const why = el("ol", null, "explain");
        for (const chunk of hit.explanation.top) why.append(chunkItem(chunk));
        li.append(why);
      }
      list.append(li);
    }
    const asked = compound ? "the compound audience" : `“${currentStatement}”`;
    $("results-title").textContent = `${hits.length} users for ${asked}`;
    $("results").hidden = false;
    if (!hits.length) list.append(el("li", "no users match the filters"));
  } catch (error) {
    showError(error);
  } finally {
    $("status").textContent = "ready";
  }
}

async function openUser(userId) {
  showError(null);
  $("status").textContent = "loading user…";
  const id = encodeURIComponent(userId);
  try {
    const profileParams = new URLSearchParams({ k: "5" });
    if (currentStatement) {
      profileParams.append("statement", currentStatement);
      profileParams.set("explain", "true");
    }
    const byInterests = $("interests").checked;
    const [user, profile, similar, interests] = await Promise.all([
      api(`/users/${id}`), api(`/users/${id}/profile?${profileParams}`),
      api(`/users/${id}/similar?k=5${byInterests ? "&interests=true" : ""}`),
      byInterests ? api(`/users/${id}/profile?k=3&interests=true`) : Promise.resolve(null),
    ]);
    currentUser = user.user_id;
    $("user-title").textContent = user.user_id;
    const meta = Object.entries(user.metadata || {}).map(([k, v]) => `${k}=${v}`);
    meta.push(`split ${user.split}`, `${user.chunks.length} chunks`);
    $("user-meta").textContent = meta.join(" · ");

    const asked = profile.find((hit) => hit.requested);
    $("why").replaceChildren();
    $("why-title").hidden = !asked;
    if (asked) {
      $("why-statement").textContent = `“${asked.statement}”: ${asked.score.toFixed(4)}`;
      for (const chunk of asked.explanation ? asked.explanation.top : []) $("why").append(chunkItem(chunk));
    }
    $("profile").replaceChildren(...profile.filter((h) => !h.requested).map(
      (h) => el("li", `${h.statement} (${h.score.toFixed(3)})`)));
    showInterests(interests);
    $("statements").replaceChildren(...user.statements.map((s) => el("li", s)));
    if (!user.statements.length) $("statements").append(el("li", "none stored", "hint"));
    $("similar").replaceChildren(...similar.map((h) => {
      const li = el("li");
      li.append(userButton(h.user_id), el("span", " " + h.score.toFixed(4), "score"));
      return li;
    }));
    const shown = user.chunks.slice(0, 50);
    $("chunks").replaceChildren(...shown.map(chunkItem));
    $("chunk-count").textContent = user.chunks.length > shown.length
      ? `(first ${shown.length} of ${user.chunks.length})` : `(${user.chunks.length})`;
    $("user").hidden = false;
    $("user").scrollIntoView({ behavior: "smooth", block: "start" });
  } catch (error) {
    showError(error);
  } finally {
    $("status").textContent = "ready";
  }
}

// The interests profile (rows: statement, score, interest, weight, chunks, example), one item per interest.
function showInterests(rows) {
  $("interests-title").hidden = $("interests-list").hidden = !rows;
  if (!rows) return;
  const byInterest = new Map();
  for (const row of rows) {
    if (!byInterest.has(row.interest)) byInterest.set(row.interest, { ...row, statements: [] });
    byInterest.get(row.interest).statements.push(`${row.statement} (${row.score.toFixed(3)})`);
  }
  $("interests-list").replaceChildren(...[...byInterest.values()].map((it) => {
    const li = el("li");
    li.append(el("span", `${Math.round(100 * it.weight)}% of the chunks (${it.chunks})`, "weight"),
              el("div", it.statements.join(" · ")), el("div", `“${it.example}”`, "example"));
    return li;
  }));
}

async function deleteUser(event) {
  event.preventDefault();
  showError(null);
  const userId = currentUser;
  try {
    const response = await fetch(`/users/${encodeURIComponent(userId)}`, {
      method: "DELETE", headers: { Accept: "application/json", "X-API-Key": $("api-key").value },
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
    $("user").hidden = true;
    for (const button of document.querySelectorAll("#audience .user-link")) {
      if (button.dataset.user === userId) button.closest("li").remove();
    }
    $("status").textContent = `deleted ${userId}`;
    loadLists();
  } catch (error) {
    showError(error);
  }
}

function options(list, values) {
  list.replaceChildren(...values.map((value) => { const o = el("option"); o.value = value; return o; }));
}

async function loadLists() {
  const [pool, users] = await Promise.all([api("/statements?limit=1000"), api("/users?limit=1000")]);
  options($("pool"), pool);
  options($("user-ids"), users.users.map((u) => u.user_id));
}

async function loadPool() {
  try {
    await loadLists();
    const ready = await fetch("/ready").then((r) => r.json());
    $("status").textContent = ready.ready ? "ready" : "not ready: " + ready.problems.join("; ");
  } catch (error) {
    showError(error);
  }
}

$("audience-form").addEventListener("submit", findAudience);
$("delete-form").addEventListener("submit", deleteUser);
$("user-form").addEventListener("submit", (event) => {
  event.preventDefault();
  openUser($("user-id").value.trim());
});
loadPool();
