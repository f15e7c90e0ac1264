"""Hand-written interest lexicon of the synthetic dataset: 50 domains x 5 facets = 250 topics.

Format of ``DOMAINS`` (parsed by ``uue.data.synthetic.parse_domains``), one block per domain:

    ## key | domain statement; domain statement | age activity openness
    nouns: distinctive things people in this domain write about, comma separated
    lines: domain-specific sentences; separated by semicolons
    - facet statement: facet nouns, comma separated

A topic is one facet of a domain; its true statements are the domain statements plus
the facet statement. The three numbers are the mean ``age``, ``activity_level`` and
``openness`` of people with that interest (the synthetic traits are derived from them).
Vocabulary sharing a word stem with a topic's statements is dropped automatically for
that topic, so chunks never contain the statement words (see ``synthetic.stem``).

The blocks live in ``topics_1`` and ``topics_2`` (25 domains each); their order is part of the
dataset (topic ids follow it), so new domains go at the end of ``topics_2``.
"""

from uue.data.topics_1 import DOMAINS_1
from uue.data.topics_2 import DOMAINS_2

DOMAINS = DOMAINS_1 + DOMAINS_2
