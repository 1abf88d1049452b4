"""Word lists and phrase patterns for the rule layer, matched against normalised text.

Content warning: this module necessarily lists slurs and obscenities so that they can be caught.
"""

from __future__ import annotations

import re
from typing import TypeAlias


def _w(words: str) -> frozenset[str]:
    """A set of words written as one space-separated string."""
    return frozenset(words.split())


#: a trie of phrases, one letter per level; the key "" marks the end of a phrase
_Trie: TypeAlias = dict[str, "_Trie"]


def _any_of(phrases: tuple[str, ...]) -> str:
    """A regex for any of the plain phrases, written as a trie: "m(?:uslims?|igrants?)".

    At each word the regex engine tries a plain alternation's branches one after another; a
    trie rules most of them out on the first letter (nearly twice as fast with fifty group words).
    Where a phrase starts another, the longer is tried first, as a greedy "s?" would.
    """
    root: _Trie = {}
    for phrase in phrases:
        node = root
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_regex(root)  # (in a group whenever it has more than one branch)


def _trie_regex(node: _Trie) -> str:
    """The regex for the phrase endings below `node`."""
    branches = [re.escape(char) + _trie_regex(child) for char, child in node.items() if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if "" not in node:
        return body
    return body + "?" if len(body) == 1 or len(branches) > 1 else "(?:" + body + ")?"


#: swear words; untargeted they are `profanity`, aimed at someone they are `abuse`
SWEARS: frozenset[str] = frozenset([
    "fuck", "fucks", "fucking", "fuckin", "fucked", "fucker", "fuckers", "fck", "fcking",
    "fcuk", "fuk", "fking", "fkin", "fkn", "effing", "motherfucker", "motherfuckers", "mf",
    "mofo", "shit", "shits", "shitty", "shite", "shitting", "bullshit", "bullshitting",
    "horseshit", "shithole", "shitshow", "piss", "pissed", "pissing", "bollocks", "bollox",
    "bugger", "arse", "arses", "arsed", "ass", "asses", "wtf", "stfu", "omfg", "fml", "ffs",
    "jfc", "goddamn", "goddamned", "cunt", "cunts", "twat", "twats", "wank", "wanking",
    "wanker", "wankers", "dick", "dicks", "cock", "cocks", "bellend", "bellends", "prick",
    "pricks", "knob", "knobhead", "dickhead", "dickheads", "tosser", "tossers", "shag",
    "bastard", "bastards", "asshole", "assholes", "arsehole", "arseholes",
])

#: insults: abuse whenever they are aimed at a person (and also fairly strong on their own)
INSULTS: frozenset[str] = frozenset([
    "idiot", "idiots", "idiotic", "moron", "morons", "moronic", "imbecile", "cretin", "loser",
    "losers", "prat", "prats", "muppet", "muppets", "numpty", "numpties", "pillock", "plonker",
    "clown", "clowns", "scum", "scumbag", "scumbags", "vermin", "parasite", "parasites",
    "bitch", "bitches", "bitchy", "hoe", "hoes", "slag", "slags", "skank", "skanks", "cow",
    "dumbass", "dumbarses", "dipshit", "dimwit", "halfwit", "nitwit", "twit", "git", "gits",
    "weirdo", "freak", "freaks", "creep", "creeps", "liar", "liars", "thieves", "crook",
    "crooks", "crooked", "pathetic", "useless", "worthless", "disgusting", "disgrace",
    "incompetent", "inbred", "inbreds", "pig", "pigs", "ugly", "fatty", "fatso", "lardass",
    "chav", "chavs", "nonce", "nonces", "pervert", "perverts", "perv", "paedo", "paedos",
    "pedo", "pedos", "jerk", "jerks", "ho", "thot", "thots", "stupid", "dumb", "fool", "fools",
    "fraud", "frauds", "hypocrite", "hypocrites", "traitor", "traitors", "coward", "cowards",
    "crybaby", "crybabies", "snowflake", "snowflakes", "delusional", "despicable", "lunatic",
    "lunatics", "nutjob", "nutjobs", "nutcase", "nutcases", "psycho", "psychos", "filth",
    "buffoon", "buffoons", "dummy", "brainless", "thug", "thugs", "weasel", "berk", "wazzock",
    "dipstick", "gimp", "minger", "mingers", "bint",
    # more name-calling, much of it British, that needs no swear word
    "numbskull", "numbskulls", "nincompoop", "dunce", "dunces", "simpleton", "airhead",
    "bonehead", "boneheads", "meathead", "knucklehead", "knuckleheads", "dullard", "bozo",
    "bozos", "twerp", "twerps", "saddo", "saddos", "nutter", "nutters", "pleb", "plebs",
    "scrounger", "scroungers", "waster", "wasters", "wasteman", "lowlife", "lowlifes",
    "slimeball", "slimeballs", "sleazebag", "sleazebags", "degenerate", "degenerates",
    "deadbeat", "deadbeats", "dolt", "dolts", "oaf", "oafs", "halfwits", "loon", "loons",
    "windbag", "gasbag", "crackhead", "crackheads", "junkie", "junkies", "druggie", "druggies",
    "hag", "hags", "jobsworth", "jobsworths", "braindead", "dosser", "dossers", "gammon",
    "dimwits", "nitwits", "imbeciles", "cretins", "wazzocks", "pillocks", "plonkers",
    # plurals of the name-calling above (the animal, food and object words stay singular only:
    # "cows", "dummies" and "weasels" are mostly not insults)
    "dipshits", "weirdos", "fatsos", "fatties", "pervs", "dipsticks", "bints",
    "simpletons", "airheads", "meatheads", "dullards", "nincompoops", "wastemen", "gasbags",
    "windbags", "dumbasses",
])

#: insults that also describe things ("the car park is a disgrace", "a stupid decision"): they
#: are abuse only when a person is their target, because fair complaints use them too
EVALUATIVE_INSULTS: frozenset[str] = frozenset([
    "useless", "pathetic", "disgusting", "disgrace", "stupid", "dumb", "worthless",
    "despicable", "ugly", "crooked", "idiotic", "moronic", "brainless", "filth",
])

#: words that insult only when someone is called one ("you absolute spanner", "what a mug");
#: elsewhere they are tools, food, animals and crockery
FRAMED_INSULTS: frozenset[str] = frozenset([
    "donut", "doughnut", "spanner", "mug", "plank", "melt", "snake", "rat", "rats", "dinosaur",
    "sheep", "worm", "maggot", "troll", "goblin", "gremlin", "leech", "cockroach", "tit",
    "nonentity", "sponger",
])

#: insults strong enough to be abuse even without a visible target
STRONG_INSULTS: frozenset[str] = frozenset([
    "cunt", "cunts", "twat", "twats", "wanker", "wankers", "dickhead", "dickheads", "bellend",
    "bellends", "tosser", "tossers", "motherfucker", "motherfuckers", "scumbag", "scumbags",
    "arsehole", "arseholes", "asshole", "assholes", "bitch", "bitches", "slag", "slags",
    "skank", "skanks", "hoe", "hoes", "nonce", "nonces", "paedo", "paedos", "pedo", "pedos",
    "knobhead", "fucker", "fuckers", "dipshit", "dumbass", "thot", "thots", "moron", "morons",
    "imbecile", "imbeciles", "cretin", "cretins", "scum", "libtard", "libtards", "douchebag",
    "douchebags", "jackass", "jackasses", "gobshite", "slapper", "slappers", "nobhead",
    "shithead", "shitheads", "fuckwit", "fuckwits", "fuckface", "dumbfuck", "feminazi",
    "feminazis", "magat", "magats",
    "knobheads", "nobheads", "gobshites", "fuckfaces", "dumbfucks", "dipshits", "dumbasses",
])

#: insults that are also ordinary words elsewhere ("Wagons ho!", Samoan "ho"): they need a person
#: word beside them even in a reply
NEEDS_NEARBY_TARGET: frozenset[str] = frozenset({"ho"})

#: gendered slurs that demean women: `hate` (sex is a protected characteristic) and `abuse`
MISOGYNIST_SLURS: frozenset[str] = frozenset([
    "slut", "sluts", "whore", "whores", "skank", "skanks", "slag", "slags", "hoe", "hoes",
    "thot", "thots", "slapper", "slappers", "feminazi", "feminazis",
])

#: slurs and demeaning words about characteristics protected by the Equality Act 2010
SLURS: frozenset[str] = frozenset([
    "nigger", "niggers", "nigga", "niggas", "nigg3r", "nicca", "niccas", "nigguh", "niggah",
    "negro", "negroes", "coon", "coons",
    "paki", "pakis", "packie", "chink", "chinks", "gook", "gooks", "spic", "spics", "wetback",
    "wetbacks", "kike", "kikes", "yid", "yids", "raghead", "ragheads", "towelhead",
    "towelheads", "sandnigger", "golliwog", "golliwogs", "wog", "wogs", "pikey", "pikeys",
    "gyppo", "gyppos", "gypo", "tinker", "jungle", "bunny", "darkie", "darkies", "sambo", "jap",
    "japs", "faggot", "faggots", "fag", "fags", "faggy", "dyke", "dykes", "lesbo", "lesbos",
    "poof", "poofs", "poofter", "poofters", "homo", "homos", "queer", "tranny", "trannies",
    "shemale", "heshe", "retard", "retards", "retarded", "tard", "tards", "spaz", "spazz",
    "spastic", "spastics", "mong", "mongs", "mongoloid", "cripple", "cripples", "mongy",
    "window-licker", "beaner", "beaners", "zipperhead", "camel", "jockey", "spacker",
    "spackers", "spacca", "spakka", "flid", "flids",
    "sandniggers", "mongoloids", "shemales", "spazzes", "zipperheads", "sambos", "muzzie",
    "muzzies",
])

#: words in SLURS that are also ordinary words; they only count in a slur-like phrase
AMBIGUOUS_SLURS: frozenset[str] = frozenset({"queer", "tinker", "jungle", "bunny", "camel",
                                             "jockey", "homo", "cripple", "cripples", "negro"})

#: name-calling that names only a person, so "the idiot's car" is the word itself; the rest of
#: the insults have everyday possessives ("cow's milk", "fool's errand", "Traitor's Gate",
#: "donkey's years", "loser's bracket") and names ("Dick's", "Willy's") and stay as written
POSSESSIVE_INSULTS: frozenset[str] = frozenset([
    "idiot", "moron", "imbecile", "cretin", "prat", "muppet", "numpty", "pillock", "plonker",
    "scumbag", "dumbass", "dimwit", "halfwit", "nitwit", "twit", "git", "weirdo", "nonce",
    "pervert", "perv", "paedo", "pedo", "jerk", "nutjob", "nutcase", "buffoon", "thug",
    "wazzock", "minger", "bint", "numbskull", "nincompoop", "simpleton", "airhead",
    "bonehead", "meathead", "knucklehead", "dullard", "bozo", "twerp", "saddo", "nutter",
    "scrounger", "lowlife", "slimeball", "sleazebag", "deadbeat", "crackhead", "druggie",
    "fucker", "wanker", "twat", "cunt", "prick", "tosser", "bastard", "dickhead", "bellend",
    "knobhead", "arsehole", "asshole", "motherfucker", "shithead", "fuckwit", "douchebag",
    "jackass", "libtard", "slapper", "nobhead",
])

#: lewd or sexually explicit words
SEXUAL_WORDS: frozenset[str] = frozenset([
    "porn", "porno", "pornhub", "xxx", "nudes", "nude", "naked", "horny", "sexy", "sext",
    "sexting", "blowjob", "blowjobs", "handjob", "boobs", "boobies", "tits", "titties",
    "nipples", "pussy", "pussies", "cum", "cumming", "jizz", "dildo", "dildos", "vibrator",
    "milf", "milfs", "onlyfans", "orgasm", "masturbate", "masturbating", "wanked", "shagging",
    "shagged", "fingering", "erection", "boner", "slut", "sluts", "whore", "whores", "hooker",
    "hookers", "camgirl",
])

#: ordinary uses of rude words: places, people, puddings, animals (never flagged)
SAFE_PHRASES: tuple[str, ...] = (
    "dick whittington", "moby dick", "spotted dick", "dick van dyke", "dick turpin",
    "philip k dick", "tracy dick", "dick king smith", "cock robin", "cocker spaniel",
    "weather cock", "stop cock", "stopcock", "shuttlecock", "woodcock", "peacock", "hancock",
    "cock a doodle", "pussy willow", "pussy cat", "pussycat", "puss in boots", "tit for tat",
    "blue tit", "great tit", "coal tit", "blue tits", "great tits", "bum bag", "hoe down",
    "garden hoe", "ass and", "wild ass", "balls", "bloody", "the ashes",
    "essex", "sussex", "middlesex", "wessex", "sex education", "same sex", "sex ed",
    "homo sapiens", "black country", "negro spiritual", "queer studies",
    # the pub dish, and British "slag off" (to run someone down: abuse at most, not a slur)
    "faggots and mash", "faggots mash", "faggots and peas", "faggots peas", "faggots in gravy",
    "faggots and gravy", "faggots and chips", "faggots chips", "brains faggots",
    "slag off", "slags off", "slagging off", "slagged off",
    *(f"{verb} {whom} off" for verb in ("slag", "slags", "slagging", "slagged")
      for whom in ("you", "u", "him", "her", "them", "me", "us", "it", "everyone", "people")),
)

# The phrase tables below are written over normalised text. The rule layer tries an entry only
# on texts that hold one of its trigger words, which `classifiers.triggers` reads off the
# entry's own words, so no trigger list is kept by hand.

#: phrases that threaten violence or harm
THREAT_PATTERNS: tuple[str, ...] = (
    r"\b(?:i(?:'?ll| will| am going to|'?m going to|'?m gonna| am gonna| gonna)|we(?:'?ll|"
    r" will| are going to|'?re gonna| gonna)|gonna|going to) (?:\w+ ){0,2}(?:kill|murder|"
    r"stab|shoot|hurt|batter|beat|punch|smash|slap|strangle|choke|knock|bury|burn|end|"
    r"destroy|get|find|hunt|break|cut|bomb|torch|rape|glass|jump|deck|sort) (?:you|u|ya|"
    r"yous|ye|him|her|them|your|ur|that|this|the|his|every|all|y'all|the lot|some)\b",
    r"\b(?:watch|mind) (?:your|ur|yer) back\b",
    r"\bi know where (?:you|u|she|he|they|your|ur)(?: \w+)? (?:live|lives|work|works|stay|"
    r"stays|go|goes|park|parks)\b",
    r"\b(?:you'?re|your|ur|you are|u r|u are) (?:so |going to be |gonna be )?(?:dead|"
    r"finished|getting it|next)\b",
    r"\b(?:you|u) (?:will|'?ll|are going to|gonna) (?:regret|pay for|be sorry|"
    r"get what'?s coming|get yours|wish you)",
    r"\b(?:shoot|blow|burn|bomb|torch|shoot up) (?:up )?(?:the|that|this|your) (?:school|"
    r"place|building|house|car|office|centre|center|staffroom|classroom)\b",
    r"\b(?:bring|bringing|brought) (?:a |my |the )?(?:knife|knives|gun|guns|blade|machete|"
    r"bat|weapon|acid)\b",
    r"\b(?:wait|waiting|be waiting|see) (?:for )?(?:you|u|him|her|them) (?:after school|"
    r"at the gates?|outside|tonight|in the car park)\b",
    r"\b(?:kill|stab|shoot|rape|hang|lynch|gas|bomb|behead) (?:all |every )?(?:the |"
    r"those |these )?(?:teachers?|kids?|children|staff|muslims?|jews?|blacks?|gays?|"
    r"immigrants?|women|pakis?|refugees?)\b",
    r"\bdeserves? (?:a )?(?:to die|to be shot|to be killed|a bullet|a beating|a slap|"
    r"a kicking)\b",
    r"\b(?:should|ought to|need to|needs to) be (?:shot|killed|hanged|hung|stabbed|beaten|"
    r"put down|burned|burnt|lynched|gassed)\b",
    r"\bslit (?:your|ur|his|her|their) throats?\b",
    r"\b(?:something bad|something) (?:will|is going to|might) happen to (?:you|your|ur)\b",
    r"\bnice (?:house|car|family|kids|school) (?:you'?ve got|you have)\b.*\bshame if\b",
    r"\bit would be a shame if\b",
    r"\bcatch (?:you|u) (?:alone|outside|later)\b",
    r"\b(?:i'?ll|i will) (?:see|find) (?:you|u) (?:outside|after|at home|at your)\b",
    r"\b(?:make|making) (?:you|u|him|her|them) pay\b",
    r"\b(?:better (?:keep )?look(?:ing)? over (?:your|ur|his|her) shoulder|(?:you'?d|you had|"
    r"he'?d|she'?d|they'?d) better (?:hope|lock|be careful)|lock (?:your|ur) doors)\b",
    r"\b(?:only )?a matter of time before (?:someone|somebody|something|we|i)\b",
    r"\b(?:gets?|getting|give (?:him|her|them|you)) a (?:good )?kicking\b",
    r"\bi'?ve seen (?:which|where) (?:house|car|flat|school) (?:you|u|your|ur)\b",
    r"\b(?:bring|bringing|brought) (?:in )?(?:a |my |the |his |her )?(?:\w+'s )?(?:knife|knives|"
    r"gun|guns|blade|machete|bat|weapon|acid)\b",
    r"\b(?:your|ur|his|her|their) days (?:\w+ ){0,4}(?:are|r) numbered\b",
    r"\bsay goodbye to (?:your|ur|his|her|their) (?:teeth|face|kneecaps|knees|legs|car|house|"
    r"windows)\b",
    r"\b(?:check|look) under (?:your|ur|his|her|their) car\b",
    r"\b(?:i'?ll|i will|i'?m going to|i'?m gonna|gonna|going to|someone should|someone'?s going "
    r"to|we'?ll|we will) put (?:\w+ ){1,4}in (?:a wheelchair|hospital|the ground|a box|an early "
    r"grave|intensive care)\b",
    r"\b(?:school|building|place|house|centre|center|club|office|hall) (?:is |will be |'?s |"
    r"will |is going to |is gonna )?(?:going|go|gonna go) up in flames\b",
    r"\bthere'?(?:ll| will| is going to) be blood\b",
    r"\b(?:someone|somebody|you|he|she|they)(?:'s| is|'ll| will| are|'re)? (?:going to|gonna) "
    r"get (?:glassed|stabbed|shot|jumped|battered|knifed|smashed)\b",
    r"\b(?:easy|easier) to find out (?:where|which)\b",
    r"\b(?:paying|pay|paid) (?:you|u|him|her|them|your|ur) (?:\w+ )?a (?:little )?visit "
    r"(?:\w+ ){0,3}with (?:a |my |the )?(?:baseball )?"
    r"(?:bat|knife|blade|machete|hammer|crowbar|gun|weapon)s?\b",
)

#: "kill yourself" and friends: abuse and a threat to wellbeing (also used as a taunt)
KYS_PATTERN = r"\b(?:kill|hang|neck|off) (?:yourself|yourselves|urself|ur self|your self)\b|\bkys\b"

#: disclosures, self-harm, grooming, exploitation and strangers watching children
SAFEGUARDING_PATTERNS: tuple[str, ...] = (
    r"\b(?:i|i'?m going to|i want to|wanna|want to|going to|gonna) (?:kill|hurt|cut|"
    r"harm) (?:myself|my self)\b",
    r"\b(?:want|wanna|wish i (?:was|were)|going) (?:to )?(?:die|be dead|end it(?: all)?|"
    r"disappear forever)\b",
    r"\b(?:suicidal|suicide|self ?harm(?:ing)?|cutting myself|overdose|od'?ing)\b",
    r"\b(?:no ?one|nobody) would (?:care|miss me|notice) if i\b",
    r"\b(?:he|she|they|my (?:dad|mum|mom|step ?dad|step ?mum|uncle|brother|"
    r"mum'?s boyfriend|coach|teacher)) (?:hits|hit|beats|beat|touches|touched|hurts|hurt|"
    r"kicks|kicked|burns|locks|locked|starves|punched|slapped) (?:me|us|my)\b",
    r"\b(?:touch(?:es|ed)?|touching) me (?:there|down there|where|in places|"
    r"inappropriately)\b",
    r"\b(?:not allowed to|can'?t|mustn'?t|don'?t) tell (?:anyone|anybody|my mum|my dad|"
    r"my parents|the teacher|teachers)\b",
    r"\b(?:our|a) (?:little )?secret\b",
    r"\bdon'?t tell (?:your|ur) (?:mum|mom|dad|parents|teacher|teachers|family)\b",
    r"\bhow old (?:are|r) (?:you|u|ya)\b",
    r"\bwhat (?:year|school|class) (?:are|r) (?:you|u) (?:in|at)\b",
    r"\b(?:what'?s|whats|send|give me|add me on) (?:your|ur|my) (?:snap|snapchat|insta|"
    r"number|addy|address|whatsapp|kik)\b",
    r"\b(?:dm|pm|message|inbox) me\b.*\b(?:girls?|boys?|kids?|babe|sweetie|hun|cutie|"
    r"pretty|gorgeous|young|age)\b",
    r"\b(?:girls?|boys?|kids?|children|pupils|year \d+s?)\b.*\b(?:dm|pm|message|"
    r"inbox) me\b",
    r"\b(?:send|show) (?:me )?(?:a |some )?(?:pics?|pictures?|photos?|selfies?|"
    r"nudes?)\b.*\b(?:of you|of yourself|babe|sweetie|hun|cutie|girl|boy)\b",
    r"\b(?:i'?ll|i can|i could|let me) (?:give (?:you|u) a lift|pick (?:you|u) up|"
    r"buy (?:you|u)|get (?:you|u) (?:a|some)|drive (?:you|u))\b",
    r"\b(?:meet|meet up|hang out) (?:with me )?(?:after school|alone|secretly|in private|"
    r"without (?:your|ur) (?:mum|parents))\b",
    r"\b(?:county lines|child sexual exploitation|cse|grooming|groomed|trafficked|"
    r"running (?:drugs|packages|county))\b",
    r"\b(?:haven'?t|have not|not|hasn'?t) (?:eaten|had (?:any )?food|"
    r"been fed)\b.*\b(?:days?|since)\b",
    r"\b(?:no food|nothing to eat|sleeping rough|kicked out|thrown out|"
    r"locked (?:me )?out)\b",
    r"\b(?:scared|afraid|frightened|terrified) (?:to go|of going) home\b",
    r"\b(?:man|men|woman|guy|bloke|someone|stranger|car|van)\b.*\b(?:watching|filming|"
    r"photographing|taking (?:photos|pictures|pics)|hanging around|lurking|"
    r"parked)\b.*\b(?:the )?(?:kids|children|pupils|girls|boys|playground|school gates?|"
    r"gates?)\b",
    r"\b(?:sexy|hot|fit|fuckable|peng|sexiest)\b.*\b(?:year \d+|(?:1[0-7]|[5-9]) ?(?:yo|"
    r"year olds?|years? old)|schoolgirls?|schoolboys?|pupils?|kids?|little girls?|"
    r"little boys?)\b",
    r"\b(?:end|ending|take|taking) my (?:own )?life\b",
    r"\b(?:want|wanna|wish) (?:it|this|everything) (?:all )?to (?:end|be over)\b",
    r"^(?:i |ive |i've |i have |just |i just )?(?:cut|cutting|burned|burnt) (?:myself )?again\b"
    r"|\bi (?:cut|burned|burnt|hurt) myself again\b",
    # strangers and lures: "a man she didn't know ... offered her sweets through the fence"
    r"\b(?:man|men|woman|guy|bloke|stranger|lady) (?:she|he|they) (?:didn'?t|did not) know\b",
    r"\b(?:offered|offering) (?:her|him|them|my (?:son|daughter|kids?|child|boy|girl)) "
    r"(?:sweets|a lift|lifts|money|cash|cigarettes|fags|vapes?|a vape|alcohol|drink)\b",
    r"\b(?:do|does) (?:your|ur) (?:parents|mum|mom|dad|mam) (?:check|look at|read|see) "
    r"(?:your|ur)\b",
    r"\b(?:got|have|i've got) something to show (?:her|him)\b",
    # neglect seen from outside: "turns up with no coat and no breakfast", "always starving"
    r"\bturns? up (?:to school |at school )?(?:with )?no (?:coat|breakfast|lunch|shoes)\b"
    r"|\bno (?:coat|breakfast) (?:and|or) no (?:coat|breakfast|lunch)\b",
    r"\b(?:she'?s|he'?s|they'?re|she is|he is|they are) (?:always|constantly|permanently) "
    r"(?:hungry|starving)\b",
    # paracetamol is everyday medicine ("took some paracetamol for my headache", "take some
    # and rest"): only an overdose's amount, already taken, counts for it
    r"\b(?:took|taken|take|swallowed) (?:a load of|loads of|too many|all (?:my|the|her|his)|"
    r"a bunch of|a handful of|some) (?:tablets|pills)\b|\b(?:took|taken|swallowed) (?:a load "
    r"of|loads of|too many|all (?:my|the|her|his)|a bunch of|a handful of) paracetamol\b",
    r"\b(?:burn(?:ing)? myself|tie a noose|how to (?:hang|kill) (?:myself|yourself))\b",
    r"\btrap ?house\b",
    r"\beasy money\b(?: \S+){0,8} (?:year \d+s?|kids?|packages?|parcels?|running|hmu|dm)\b",
    r"\bfree (?:robux|v ?bucks|skins)\b|\badd me on discord\b",
    r"\bpay me back (?:another|some other) way\b",
    r"\bmy (?:place|house|flat) is empty\b",
    r"\b(?:can|should) trust (?:him|me) more than (?:your|ur|her|his) (?:parents|mum|dad|mom|"
    r"family)\b|\bmore than (?:us|your parents)\b.*\btrust\b",
    r"\b(?:leaves?|left) (?:us|me|them|him|her) (?:on (?:our|my|their|his|her) own|alone|home "
    r"alone)\b(?: \S+){0,4} (?:all (?:weekend|night|day)|for days|overnight)\b",
    r"\b(?:men|man|guy|guys|someone|somebody) (?:is|are|keeps?|keep) following (?:me|us|my)\b",
    r"\b(?:don'?t|do not) want to (?:be here|be alive|live|exist) (?:anymore|any more|no more)\b"
    r"|\b(?:don'?t|do not) want to (?:wake up|be alive|exist)\b",
    r"\b(?:everyone|everybody|they|you all|my family|the world|people)(?:'?d| would)? (?:be )?"
    r"better off without me\b|\bbetter off dead\b",
    r"\b(?:scratch|scratching|cut|cutting|pick|picking|bite|biting|burn|burning) (?:at )?"
    r"(?:my|myself)\b(?: \w+){0,3} until (?:it|they|i) (?:bleed|bleeds|bled)\b",
    r"\bliving in (?:a|the|our|my mum'?s|my dad'?s) car\b",
    r"\b(?:year \d+|schoolgirls?|schoolboys?|little girls?|little boys?)\b.*\b(?:sexy|hot|"
    r"fuckable|peng|nudes?)\b",
)

#: scams, phishing, get-rich-quick, prizes, adverts and follower selling
SPAM_PATTERNS: tuple[str, ...] = (
    r"\b(?:click|tap|visit|check) (?:the |my |this )?(?:link|bio|profile|page)\b",
    r"\blink in (?:my |the )?bio\b",
    # "won" and not "won't" ("you won't believe it"): a `\b` also falls before an apostrophe
    r"\b(?:you(?:'ve| have)? (?:won(?!'t)|been selected|been chosen)|claim (?:your|ur) (?:prize|"
    r"reward|gift|voucher)|winner|congratulations you)\b",
    r"\b(?:free|win a|won a) (?:iphone|ipad|gift ?card|voucher|ps5|xbox|holiday|cash|"
    r"money|followers)\b",
    r"\b(?:earn|make|made|making) (?:£|\$|€)?\s?\d[\d,k]* (?:a|per|every|in a|"
    r"in one) (?:day|week|hour|month)\b",
    r"\b(?:work from home|passive income|financial freedom|get rich|be your own boss|"
    r"side hustle|investment opportunity|guaranteed returns?|double your money)\b",
    r"\b(?:bitcoin|btc|crypto|forex|nft|binary options|trading account|"
    r"investment manager)\b",
    r"\b(?:buy|cheap|get|gain|real) (?:\d+k? )?(?:followers|likes|views|subscribers)\b",
    r"\b(?:dm|message|whatsapp|text|contact) (?:me|us)\b.*\b(?:earn|invest|profit|income|"
    r"offer|discount|price|order|money|cash|loan|mentor|details)\b",
    r"\b(?:promo code|discount code|use code|limited time offer|act now|order now|"
    r"shop now|buy now|sign up now|best prices?|casino|payday loans?|cheap loans?|viagra|"
    r"cialis|replica watches|weight loss pills)\b",
    r"\b(?:verify|confirm|update) (?:your|ur) (?:account|password|details|bank|payment)\b",
    r"\byour account (?:has been|will be) (?:suspended|locked|disabled|deleted)\b",
    r"\b(?:hot|sexy|lonely) (?:singles|girls|milfs) (?:in|near) your (?:area)\b",
)

#: innuendo and propositions that use no explicit word ("ride me", "DTF", "in the bedroom")
SEXUAL_PATTERNS: tuple[str, ...] = (
    r"\b(?:ride|spank|shag|bang|pound|mount) (?:me|her|him)\b",
    r"\b(?:dtf|phwoarr?)\b",
    r"\b(?:netflix and chill|slide into (?:my|your|ur) dms?|sit on my face|in the bedroom|"
    r"between the sheets|take me to bed)\b",
    r"\bwouldn'?t mind (?:seeing|getting|having) (?:her|him|them|one of (?:them|those))\b"
    r"(?: \S+){0,3} (?:in|out of|naked|bikini|underwear|lingerie|shorts|bed)\b",
    r"\b(?:adult|sex|nude|naked|xxx) ?cams?\b|\b(?:live )?cam ?(?:shows?|sex|girls?)\b",
    r"\benlarge(?:ment)?\b(?: \S+){0,8} (?:ladies|inches|discreet|penis|size)\b|"
    r"\b(?:ladies|inches|discreet|penis|size)\b(?: \S+){0,8} enlarge(?:ment)?\b",
    r"\b(?:bum|butt|arse|ass|booty|bottom|legs|body|boobs|chest) (?:\S+ ){0,6}should be "
    r"illegal\b",
    r"\b(?:time|hours) on (?:her|his) knees\b",
    r"\b(?:out of|in) (?:those|that|her|his|their) (?:tight |little )?(?:shorts|bikini|leggings|"
    r"lingerie|undies|underwear)\b",
)

#: groups defined by a protected characteristic, as the hate phrases name them
HATE_GROUPS: tuple[str, ...] = (
    "muslims", "muslim", "immigrants", "immigrant", "migrants", "migrant", "refugees", "refugee",
    "asylum seekers", "asylum seeker", "illegals", "jews", "jew", "blacks", "black", "asians",
    "asian", "gays", "gay", "lesbians", "lesbian", "trans", "foreigners", "foreigner", "poles",
    "romanians", "romanian", "gypsies", "travellers", "women", "females", "arabs", "arab",
    "mexicans", "mexican", "africans", "african", "indians", "indian", "pakistanis", "pakistani",
    "somalis", "somali", "bangladeshis", "romanies", "roma", "chinese", "albanians", "turks",
    "nigerians", "eastern europeans",
)
#: group words that open a hate phrase ("migrant invasion", "gypsy scum")
HATE_GROUP_NOUNS: tuple[str, ...] = (
    "migrant", "immigrant", "refugee", "muslim", "islamic", "foreign", "asylum", "gypsy", "gipsy",
    "traveller", "jewish", "polish", "romanian", "paki", "gay", "trans", "tranny",
)
#: words that open a hate phrase by calling a group dirty ("dirty immigrant", "stinking gypsies")
HATE_DIRT_WORDS: tuple[str, ...] = ("dirty", "filthy", "stinking", "smelly", "scummy")
#: the groups of the exclusion slogan "... out"
_OUT_GROUPS: tuple[str, ...] = (
    "foreigners", "immigrants", "migrants", "muslims", "refugees", "pakis", "poles", "romanians",
    "asylum seekers",
)

#: hate: phrases that demean or exclude a group defined by a protected characteristic. Entries
#: keep the order of the single alternation they replaced: when two match, the first entry's
#: match is the one quoted.
HATE_PATTERNS: tuple[str, ...] = (
    r"\bgo back (?:to |where )(?:where )?(?:your|ur|you|u|they|their|she|he|her|his) "
    r"(?:own )?(?:country|came from|come from|comes from)\b",
    # a contemptuous determiner before the group ("these/all X are ..." alone is as often
    # "all refugees need our help"; "bloody" never matches: it is blanked as a safe phrase)
    r"\b(?:bloody|fucking|dirty|filthy|stinking) " + _any_of(HATE_GROUPS)
    + r" (?:are|should|need|must|ought|deserve|want|breed)\b",
    r"\b(?:all|these|those|the) " + _any_of(HATE_GROUPS) + r" (?:should|need to|must|ought "
    r"to) (?:all )?(?:go home|go back|leave|get out|fuck off|be (?:deported|sent back|kicked "
    r"out|banned|removed|shot|gassed|locked up)|die)\b",
    # "this is England, not Pakistan"; "send her back to Nigeria"; "go back to Lagos"
    r"\bthis is (?:england|britain|great britain|the uk|a christian country) not \S+",
    r"\b(?:send|ship) (?:her|him|them|em) back (?:to (?:where|africa|pakistan|india|"
    r"bangladesh|poland|romania|nigeria|jamaica|somalia|syria|china|the jungle))\b",
    r"(?<!\bwe )(?<!\bi )(?<!\bthey )(?<!\bhe )(?<!\bshe )(?<!'ll )(?<!\bto )(?<!'d )"
    r"\bgo back to (?:africa|pakistan|bangladesh|poland|romania|nigeria|lagos|jamaica|"
    r"somalia|syria|the jungle|your hut|the desert)\b",
    # age and disability without slurs: "coffin dodgers", "ADHD is made up"
    r"\bcoffin dodgers?\b",
    r"\b(?:anyone|everyone|people) over (?:50|55|60|65|70|75|80) (?:should|shouldn'?t|needs? "
    r"to|must)\b",
    r"\b(?:boomers|pensioners|oaps|old people|old folk) (?:are|r) (?:all |just )?(?:a waste|"
    r"useless|a burden|parasites|scroungers|bed blockers|past it)\b|\b(?:boomers|pensioners|"
    r"oaps|old people)\b(?: \S+){0,8} let them (?:rot|die)\b",
    r"\b(?:adhd|autism|dyslexia) (?:is|isn'?t) (?:made up|a myth|an excuse|fake|real)\b",
    r"\b(?:autistic|autistics|disabled|deaf|blind|wheelchair)(?: (?:kids|people|children|lot|"
    r"users))? (?:are|is) (?:just |all )?(?:badly behaved|spoilt|spoiled|lazy|faking|a burden|"
    r"attention seekers|thick|a drain)\b",
    r"\b(?:women|girls|females) (?:belong in the kitchen|should (?:shut up|stay home|know "
    r"their place))\b",
    r"\b(?:disabled|autistic|special needs|sen) (?:kids|children|people) (?:should "
    r"(?:not|n't|be)|shouldn'?t|don'?t belong|are a drain)\b",
    r"\b(?:ban|deport|gas|kick out) (?:all )?(?:the )?(?:muslims?|immigrants?|migrants?|"
    r"refugees?|jews?|blacks?|foreigners?|gays?|illegals)\b",
    r"\b(?:send|ship) (?:them|em|the lot) (?:all )?back\b",
    r"\bdeport (?:them|em|the lot)(?: all)?\b",
    r"\bthat'?s so gay\b",
    r"\bspecial needs? (?:kid|boy|girl)\b(?: \S+){0,3} (?:thick|stupid|idiot|retard)\b",
    # dehumanising words for migrants, and the slogans built on them
    r"\b(?:illegals|rapefugees?|(?<!space )invaders|buildthatwall|buildthewall|"
    r"build (?:that|the) wall|sendthemback|deportthemall|deportthemallnow|stoptheinvasion|"
    r"banislam)\b",
    # racial slurs of two words
    r"\b(?:porch monkeys?|spear chuckers?|cotton pickers?|tar bab(?:y|ies)|slant ?eyes?|"
    r"slanty eyed)\b",
    # exclusion slogans, antisemitic conspiracy, stereotypes of smell and "blood"
    r"(?<!tent )(?<!ski )(?<!fishing )(?<!walking )\b" + _any_of(_OUT_GROUPS) + r" out\b",
    r"\b(?:britain for the british|england for the english)\b",
    r"\b(?:jews|the jews|jewish people|zionists) (?:are behind|control|own|run) "
    r"(?:all |the |everything)",
    r"\bsink the boats\b",
    r"\bboats? (?:\S+ ){0,3}should be sunk\b",
    r"\b" + _any_of(HATE_GROUPS) + r" (?:all )?(?:stink|reek|smell (?:bad|awful|disgusting|"
    r"of curry|of garlic))\b",
    r"\b" + _any_of(HATE_GROUPS) + r" (?:are|r|is) (?:all |just |nothing but |a bunch of "
    r"|born )?(?:criminals|rapists|terrorists|invaders|parasites|scum|vermin|animals|savages|"
    r"a plague|a disease|filth|leeches|scroungers|freeloaders|subhuman|inferior|cockroaches|"
    r"rats|trash|whores|sluts|destroying)\b",
    r"\b" + _any_of(HATE_GROUP_NOUNS) + r" (?:invasion|invaders|scum|filth|vermin|parasites|"
    r"rats|animals|savages|rapists|hordes)\b",
    # a group word as the insult's core: "dirty immigrant", "stinking gypsies", "curry muncher"
    r"\b" + _any_of(HATE_DIRT_WORDS) + r" (?:immigrant|migrant|foreigner|muslim|jew|gypsy|"
    r"gipsie|gipsy|gypsie|paki|arab|refugee|pole|romanian|traveller|asylum seeker)s?\b",
    r"\bcurry (?:stinking|muncher|munchers|eater|eaters)\b",
    # sexism: generalisations about women as a group
    r"\b(?:hysterical|typical|stupid|dumb|silly|crazy|nasty|emotional) (?:women|woman|"
    r"females?|feminists?)\b",
    r"\b(?:women|woman|females|girls) (?:are|r) (?:all |just |so )?(?:stupid|inferior|useless|"
    r"too emotional|property|objects|hysterical|good for nothing|only good for|weak|bitches|"
    r"hoes)\b",
    r"\b(?:get back|go back|belong) (?:in|to) the kitchen\b",
    r"\bmake me a sandwich\b",
)

#: emoji with a sexual meaning when paired ("🍆💦") or with a wink or leer: aubergine, peach and
#: tongue; droplets and the hot face only count beside one of them (they also mean heat or sweat)
SEXUAL_EMOJI: frozenset[str] = frozenset("\U0001F346\U0001F351\U0001F445")
#: body words that make a single sexual emoji sexual ("Mr B's bum in those shorts 🍑")
BODY_WORDS: frozenset[str] = frozenset([
    "bum", "butt", "arse", "ass", "booty", "bottom", "cheeks", "boobs", "legs", "body",
])
SUGGESTIVE_EMOJI: frozenset[str] = frozenset("\U0001F4A6\U0001F975")
LEER_EMOJI: frozenset[str] = frozenset("\U0001F60F\U0001F609\U0001F608")

#: spoken-English idioms that use violent or rude words harmlessly
IDIOM_PATTERNS: tuple[str, ...] = (
    r"\bkill(?:ed|ing)? it\b", r"\bi'?m (?:literally )?dying\b", r"\bdying (?:of|with) "
    r"laughter\b", r"\bmurder(?:ed)? (?:of|on) (?:a|the)\b", r"\bsmash(?:ed|ing)? it\b",
    r"\bslay(?:ed|ing)?\b", r"\bdead (?:funny|good|proud|chuffed|excited|tired)\b",
    # a contest or a test as the object: "going to smash the exams", "destroy the dance comp"
    r"\b(?:kill|murder|smash|destroy|batter|beat|end|bury|break) (?:the|that|this|your|ur|"
    r"their|them in the|you in the|u in the) (?:\w+ )?(?:exams?|tests?|mocks?|gcses?|sats|"
    r"a levels?|competition|comp|match|game|final|race|show|performance|dance|concert|"
    r"audition|quiz|league|tournament|record|interview|presentation|assessment)\b",
    # sports kit: "bring a bat for the rounders match"
    r"\bbats? (?:for|to) (?:the )?(?:rounders|cricket|table tennis)\b",
    r"\b(?:rounders|cricket|table tennis|ping pong) bats?\b",
)

#: words that name a characteristic protected by the Equality Act 2010, or a group defined by
#: one; the model may only call a text `hate` when it names such a group (or a rule fired)
IDENTITY_TERMS: frozenset[str] = _w("""
    race racial racist racism racists black blacks white whites brown asian asians african
    africans arab arabs chinese indian indians pakistani pakistanis bangladeshi bangladeshis
    somali somalis nigerian nigerians polish poles romanian romanians eastern european
    europeans mexican mexicans gypsy gypsies gipsy gipsies traveller travellers roma romany
    romanies irish scottish english british foreign foreigner foreigners immigrant immigrants
    immigration migrant migrants refugee refugees asylum seekers illegal illegals alien aliens
    boat boats border borders invasion invaders deport deported deportation ethnic ethnicity
    coloured nationality religion religious muslim muslims islam islamic islamist mosque jew
    jews jewish judaism synagogue zionist christian christians catholic catholics hindu hindus
    sikh sikhs buddhist atheist atheists allah sharia hijab burqa turban kippah
    gay gays lesbian lesbians bisexual homosexual homosexuals homosexuality lgbt lgbtq lgbtqia
    queer trans transgender transgenders transsexual nonbinary gender genders
    women woman female females ladies feminist feminists feminism men male males
    disabled disability disabilities handicapped autistic autism adhd dyslexic syndrome downs
    deaf blind wheelchair special sen mental spastic retarded
    elderly pensioner pensioners boomer boomers geriatric pregnant pregnancy maternity
""")
