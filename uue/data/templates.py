"""Post templates and generic fillers of the synthetic dataset.

Slots: ``{a}`` and ``{b}`` take a topic noun, ``{line}`` / ``{Line}`` a domain sentence,
``{place}``, ``{when}`` / ``{When}``, ``{n}``, ``{price}``, ``{stars}``, ``{tag}``.
None of these is topic-specific; any piece whose words share a stem with one of a
user's statements is skipped for that user (see ``synthetic.Vocabulary``).
"""

TOPIC_TEMPLATES = (
    "{Line}.",
    "{Line}. Anyway, back to it.",
    "{Line}, and now I'm reading up on {a}.",
    "Anyone know a good spot for {a} near {place}?",
    "Just picked up a new {a}, so far so good.",
    "{When} was all about {a} and {b}.",
    "Hot take: {a} is overrated and {b} is where it's at.",
    "{n} weeks into this and the {a} still surprises me.",
    "Does anyone else obsess over {a} way too much?",
    "Finally sorted out my {a}. Next up: {b}.",
    "Question for the group: {a} or {b}?",
    "Ok the {a} situation {when} was wild.",
    "Posted pics of the {a} in the other thread if anyone's curious.",
    "Budget advice for {a}? Trying to keep it under ${price}.",
    "Can't stop thinking about {a} since {when}.",
    "Rookie mistake with the {a} {when}, lesson learned.",
    "Three things I wish I knew earlier: {a}, {b}, and patience.",
    "Went down a rabbit hole about {a} {when}.",
    "Small win: {a} went better than expected {when}.",
    "Our group chat is 90% {a} memes at this point.",
    "Any recommendations for {a} in {place}?",
    "{When} I finally understood {a}. Took me {n} months.",
    "My partner is tired of hearing about {a}.",
    "Honest question, is {a} worth it or is {b} enough?",
    "Found a great little shop for {a} in {place}.",
    "{n} hours of {a} {when} and zero regrets.",
    "Saving up for better {a}.",
    "Can we talk about how underrated {b} is?",
    "If you're new: start with {a}, worry about {b} later.",
    "The {a} crowd here is so helpful, thank you all.",
    "Long post incoming about {a}, sorry not sorry.",
    "Fell asleep reading about {a} again.",
    "Update on the {a}: still a bit of a mess, but getting there.",
    "Unpopular opinion: {b} matters more than {a}.",
    "{Line}. Not sure how to feel about it yet.",
    "Dropped way too much money on {a} {when}.",
    "Who else is in {place}? Thinking of a meetup about {a}.",
    "Told myself I'd be sensible about {a} this month. Did not last.",
)

TWEET_TEMPLATES = (
    "{a} {when} and I regret nothing",
    "no thoughts, just {a}",
    "{Line} #{tag}",
    "{a} > {b}, fight me",
    "current mood: {a} #{tag}",
    "{n} days straight of {a}. send snacks",
)

REVIEW_TEMPLATES = (
    "{stars}/5. The {a} was solid, the {b} less so.",
    "{stars} stars. Bought this for {a} and it does the job.",
    "{stars}/5, decent {a}, would not pay full price again.",
    "Review after {n} weeks: the {a} holds up well. {stars}/5.",
    "{stars} out of 5. Shipping was slow but the {a} is great.",
    "Would I recommend it for {a}? Yes, with caveats. {stars}/5.",
)

NOISE_TEMPLATES = (
    "Long week, glad it's Friday.",
    "Coffee machine at the office broke again.",
    "Traffic was brutal {when}.",
    "My phone battery dies by noon lately, any tips?",
    "Does anyone actually read the terms of service?",
    "Watching random videos at 2am again.",
    "The weather can't make up its mind {when}.",
    "Happy birthday to my little brother!",
    "Why is every app asking me to rate it?",
    "Got a parking ticket {when}, great start.",
    "Internet was down for {n} hours, I read a whole magazine.",
    "Moving apartments next month, send help.",
    "Dentist appointment {when}, wish me luck.",
    "Finally cleaned out the fridge.",
    "Neighbours are drilling at 8am on a Sunday.",
    "Ordered pizza for the third night in a row.",
    "Is it just me or are prices up everywhere?",
    "Did laundry and taxes {when}, living the dream.",
    "Caught a cold, staying in with tea.",
    "Thinking about changing my phone plan.",
    "Someone in {place} please recommend a decent barber.",
    "Good morning everyone.",
    "My inbox is a disaster.",
    "Power went out during dinner, candles it is.",
    "Took a nap and woke up confused about what day it is.",
    "Anyone else's landlord impossible to reach?",
    "New phone who dis.",
    "That awkward moment when you wave back at someone who wasn't waving at you.",
)

PLACES = (
    "Denver", "Leeds", "Lyon", "Austin", "Munich", "Osaka", "Portland", "Melbourne", "Toronto",
    "Glasgow", "Utrecht", "Seattle", "Porto", "Dublin", "Bristol", "Boulder", "Vancouver",
    "Hamburg", "Brisbane", "Madison", "Nashville", "Gothenburg", "Wellington", "Cork",
    "Minneapolis", "Krakow", "the north side", "downtown", "the old town", "the suburbs",
)

WHENS = (
    "this morning", "last weekend", "yesterday", "tonight", "on Saturday", "last night",
    "this week", "over the holidays", "after lunch", "on my day off", "on Sunday", "today",
)

# (country code, weight): the synthetic users' countries.
COUNTRIES = (
    ("US", 40), ("GB", 12), ("DE", 8), ("CA", 7), ("AU", 5), ("FR", 5), ("IN", 5), ("NL", 3),
    ("BR", 3), ("SE", 2), ("IE", 2), ("NZ", 2), ("ES", 2), ("PL", 2), ("JP", 2),
)

# Words that do not count as a statement's content words (the no-verbatim property).
STOPWORDS = frozenset({
    "their", "they", "them", "with", "from", "into", "about", "that", "this", "than", "have",
    "been", "very", "much", "more", "most", "every", "other", "some", "when", "while", "over",
    "also", "like", "lots",
})
