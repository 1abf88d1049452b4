"""Normalisation and the rule layer: obfuscation caught, idioms and place names left alone."""

from __future__ import annotations

import pytest

from classifiers.base import Label
from classifiers.normalise import normalise, tokens
from classifiers.registry import available, build

RULES = build("rules")


def labels(text: str) -> set[str]:
    return {label.value for label in RULES.classify([text])[0].labels}


@pytest.mark.parametrize(("raw", "word"), [
    ("b1tch", "bitch"), ("l0ser", "loser"), ("sh!t", "shit"), ("a$$hole", "asshole"),
    ("f u c k", "fuck"), ("f.u.c.k", "fuck"), ("fu\u200bck", "fuck"), ("Ｆｕｃｋ", "fuck"),
    ("сunt", "cunt"),  # Cyrillic "с"
])
def test_normalise_undoes_obfuscation(raw: str, word: str) -> None:
    assert word in tokens(normalise(raw))


@pytest.mark.parametrize(("text", "label"), [
    ("you f***ing l0ser", "abuse"), ("shiiiiit weather", "profanity"), ("p*ki go home", "hate"),
    ("shit weather for sports day", "profanity"), ("you are a useless prat", "abuse"),
    ("watch your back", "threat"), ("I know where you live", "threat"),
    ("my dad hits me and I'm scared to go home", "safeguarding"),
    ("how old are you? dm me", "safeguarding"),
    ("Click the link in bio to earn £500 a day", "spam"), ("send nudes", "sexual"),
    ("f u c k you", "abuse"),
    # the idiom of a contest or sports kit does not cover a threat to a person or a place
    ("im going to smash the window of your car tonight", "threat"),
    ("I'm going to destroy the school", "threat"),
    ("I'll be paying him a visit with a baseball bat", "threat"),
])
def test_obfuscated_and_plain_hits(text: str, label: str) -> None:
    assert label in labels(text)


@pytest.mark.parametrize("text", [
    "The choir killed it tonight!", "I'm dying 😂", "That was a murder of a homework",
    "Well done year 6, you smashed the reading challenge", "Great away win at Scunthorpe",
    "We loved Dick Whittington at the panto", "Cross country at Penistone on Saturday",
    "Scout camp in Cockermouth", "Thank you Mrs Hughes",
    "The parking at drop-off is a nightmare, please sort it out",
    "Really disappointed the trip was cancelled, communication has been poor",
    "Damn, missed the bus", "Bloody freezing on the touchline",
    "ur going to smash the exams, believe in yourselves 💪",
    "the year 11s are gonna absolutely destroy the dance competition 🔥",
    "Remember to bring a bat for the rounders match, we're short of equipment",
])
def test_idioms_places_and_fair_complaints_are_not_flagged(text: str) -> None:
    assert labels(text) == set()


@pytest.mark.parametrize(("text", "label"), [
    ("Deport them all, these illegals are ruining the town", "hate"),
    ("Migrants are all criminals and rapists", "hate"),
    ("send them back #StopTheInvasion", "hate"),
    ("another hysterical woman who can't take criticism", "hate"),
    ("get back in the kitchen love", "hate"),
    ("she's a skank and everyone knows it", "hate"),
    ("@dad_of_three moron", "abuse"),
    ("@user you absolute fraud", "abuse"),
    ("libtards crying again", "abuse"),
])
def test_xenophobia_sexism_and_reply_insults(text: str, label: str) -> None:
    assert label in labels(text)


@pytest.mark.parametrize("text", [
    "We all loved the Space Invaders arcade at the museum",
    "The charity is collecting coats for refugee families arriving this month",
    "Spain rescued nearly a thousand migrants at sea this week",
    "RT @weather_uk: this week's forecast is stupid hot",
    "Women's football team through to the county final!",
    "The council's asylum housing plan was debated at the meeting last night",
])
def test_group_mentions_and_quotes_without_attack_are_not_flagged(text: str) -> None:
    assert labels(text) == set()


@pytest.mark.parametrize("text", [
    "the new coach could ride me into next week", "DTF? slide into my DMs",
    "Hot dinner and a hot cook, phwoar", "she can sort me out in the bedroom",
    "my eggplant says hi 🍆😉", "🍑🍆 dm me",
])
def test_innuendo_without_explicit_words_is_sexual(text: str) -> None:
    assert "sexual" in labels(text)


@pytest.mark.parametrize("text", [
    "Peach crumble for pudding 🍑", "sweaty 💦 after PE 🥵", "can you give me a lift to the match",
    "the kids will ride their bikes to school on Friday",
])
def test_fruit_heat_and_lifts_are_not_sexual(text: str) -> None:
    assert "sexual" not in labels(text)


@pytest.mark.parametrize(("text", "label"), [
    ("I'm going to make you pay for what you did", "threat"),
    ("you'd better lock your doors tonight", "threat"),
    ("bringing my brother's knife in tomorrow", "threat"),
    ("I keep thinking about ending my life", "safeguarding"),
    ("I took a load of tablets an hour ago", "safeguarding"),
    ("free robux if you add me on discord", "safeguarding"),
    ("mum leaves us on our own all weekend", "safeguarding"),
])
def test_more_threat_and_safeguarding_phrasings(text: str, label: str) -> None:
    assert label in labels(text)


@pytest.mark.parametrize(("text", "label"), [
    ("ur a donut lol get a grip", "abuse"),
    ("you absolute spanner, it was in the newsletter", "abuse"),
    ("what a mug, believing all that", "abuse"),
    ("the caretaker is a lazy numbskull", "abuse"),
    ("your days in this village are numbered", "threat"),
    ("say goodbye to your teeth next time I see you", "threat"),
    ("I'll put that ref in a wheelchair", "threat"),
    ("somebody's going to get glassed at the disco", "threat"),
    ("this school is going up in flames next week", "threat"),
    ("I don't want to be here anymore", "safeguarding"),
    ("everyone would be better off without me", "safeguarding"),
    ("I scratch my arms until they bleed", "safeguarding"),
    ("we've been living in our car since October", "safeguarding"),
    ("foreigners out, Britain for the British", "hate"),
    ("Romanies are born criminals", "hate"),
    ("the Chinese all stink of garlic", "hate"),
])
def test_name_calling_veiled_threats_and_disclosures_without_listed_words(text: str,
                                                                          label: str) -> None:
    assert label in labels(text)


@pytest.mark.parametrize("text", [
    "Our class pet is a rat called Bob",
    "you melt the butter first, then add the sugar",
    "did you rat on him?",
    "this mug is lovely, thank you PTA",
    "say goodbye to your kids at the gate please",
    "our days are numbered until the summer holidays!",
    "the flu put me in hospital for a week",
    "my cake went up in flames in food tech lol",
    "you'll be better off without me nagging about homework",
    "I scratch my head until it makes sense",
    "the English department is brilliant",
])
def test_the_same_words_in_everyday_use_are_not_flagged(text: str) -> None:
    assert labels(text) == set()


@pytest.mark.parametrize(("text", "expected"), [
    # words that judge things as well as people: a complaint about a thing stays clean
    ("The car park at pick-up is a disgrace", set()),
    ("It's a disgrace how long the SEN assessment takes", set()),
    ("That was a stupid decision by the council", set()),
    ("that's a stupid idea", set()),
    ("The school has been useless at replying to my emails", set()),
    ("the car park's a shit tip after the fair", {"profanity"}),
    # ... and the same words said of a person are abuse
    ("you're a disgrace", {"abuse"}),
    ("the head is a disgrace", {"abuse"}),
    ("these teachers are useless", {"abuse"}),
    ("you are so stupid", {"abuse"}),
    # name-calling needs no person word: the insult itself names one
    ("the scout leader's a bumbling numbskull", {"abuse"}),
    ("Dave's a useless prat", {"abuse"}),
    ("what a moron", {"abuse"}),
])
def test_judging_words_are_abuse_only_when_said_of_a_person(text: str,
                                                            expected: set[str]) -> None:
    assert labels(text) == expected


@pytest.mark.parametrize("text", [
    "you lying gypsy scum",
    "the barber is a dirty immigrant crook",
    "smelly curry munchers everywhere",
    "nobody's listening to you, spacker",
    "polish scum the lot of them",
])
def test_a_group_word_at_the_core_of_an_insult_is_hate(text: str) -> None:
    assert "hate" in labels(text)


@pytest.mark.parametrize("text", [
    "a dirty kitchen after the cake sale",
    "filthy rich bankers",
    "polish your shoes for the parade",
    "I love a good curry",
    "the Polish community centre is hosting a fair",
])
def test_the_group_and_dirt_words_alone_are_not_hate(text: str) -> None:
    assert labels(text) == set()


@pytest.mark.parametrize(("text", "label"), [
    ("a whore's book being published", "hate"), ("that sl*t's new boyfriend", "hate"),
    ("that paki's shop on the corner", "hate"), ("you muppet's mate", "abuse"),
    ("the moron's hands are everywhere", "abuse"), ("these dumba$$es vote for anyone", "abuse"),
    ("Jayden's a total knobhead and his knobheads mates too", "abuse"),
])
def test_possessive_and_plural_slurs_and_name_calling(text: str, label: str) -> None:
    assert label in labels(text)


@pytest.mark.parametrize("text", [
    "cow's milk for you at snack time", "Dick's Sporting Goods sponsored the kit",
    "Willy's Wonka bars for your tombola", "it's been donkey's years since you visited",
    "you saw Traitor's Gate on the trip", "you played well in the loser's bracket final",
])
def test_everyday_possessives_of_rude_words_are_not_flagged(text: str) -> None:
    assert labels(text) == set()


@pytest.mark.parametrize("text", [
    "year 11 girls in the sports day pics 🥵🥵 who's the blonde on the end",
    "that lass in the prom photo is well developed for 16 😏",
    "bet Mr Kerr's shagging one of the sixth formers",
])
def test_sexual_comments_about_a_child_are_also_safeguarding(text: str) -> None:
    verdict = build("policy").classify([text])[0]
    assert {Label.SEXUAL, Label.SAFEGUARDING} <= set(verdict.labels)


@pytest.mark.parametrize("text", [
    "smash or pass: the year 6 teachers 👀",
    "you pussy, even a 10 year old could do it",
    "that kid is such a pussy",
])
def test_sexual_words_near_other_ages_or_staff_are_not_safeguarding(text: str) -> None:
    assert "safeguarding" not in labels(text)


@pytest.mark.parametrize(("text", "label"), [
    ("cut again last night. not telling anyone irl", "safeguarding"),
    ("i just want it all to end before exams", "safeguarding"),
    ("a man she didn't know offered her sweets through the fence", "safeguarding"),
    ("do your parents check your insta? just between us", "safeguarding"),
    ("she turns up with no coat and no breakfast, she's always starving", "safeguarding"),
    ("Mr Brennan's bum in those rugby shorts 🍑", "sexual"),
    ("Adult cam shows 24/7, no card needed", "sexual"),
    ("Ladies will thank u, discreet delivery at enlarge-pro . shop", "sexual"),
])
def test_disclosures_lures_neglect_and_innuendo_without_listed_words(text: str,
                                                                     label: str) -> None:
    assert label in labels(text)


@pytest.mark.parametrize("text", [
    "got my hair cut again for the photos",
    "I want this week to end already, roll on half term",
    "Can the SEN transport escort wait at the gate please",
    "Faggots, mash and peas on the lunch menu Thursday",
    "people are so quick to slag you off behind a keyboard",
    "Peach crumble 🍑 for pudding, the kids loved it",
    "the new live cam of the nesting box is up on the school site",
    "if it's someone I don't know I won't accept the request",
])
def test_everyday_uses_of_those_words_are_not_flagged(text: str) -> None:
    assert labels(text) == set()


def test_handles_are_who_is_addressed_not_what_is_said() -> None:
    from classifiers.model import model_text
    from classifiers.normalise import without_mentions

    assert labels("@fatcow99 thanks for the lift on Saturday") == set()
    assert labels("@fatcow99 you idiot") == {"abuse"}
    assert model_text("@user @bob.smith see you at 3") == model_text("see you at 3")
    assert without_mentions("mail me at jo@example.org") == "mail me at jo@example.org"


def test_abuse_replaces_profanity_when_aimed() -> None:
    got = labels("fuck you")
    assert "abuse" in got
    assert "profanity" not in got


def test_registry_lists_builtins_and_rejects_bad_sensitivity() -> None:
    from classifiers.registry import ClassifierConfigError, UnknownClassifier

    assert {"policy", "rules"} <= set(available())
    with pytest.raises(UnknownClassifier):
        build("nope")
    with pytest.raises(ClassifierConfigError):
        build("rules", sensitivity=2.0)


@pytest.mark.parametrize("name", ["rules", "policy"])
@pytest.mark.parametrize("text", [
    "", " ", "\u200b\u200b", "😂" * 1000, "مرحبا بالعالم \u202e", "a" * 1_000_000,
    ("you idiot " * 100_000), "\x00\x01\x02", "🏳️‍🌈" * 50, "\ud800" if False else "ﷺ",
    "07700 900123 " * 2000,
])
def test_odd_and_huge_text_never_raises(name: str, text: str) -> None:
    clf = build(name)
    verdicts = clf.classify([text, "ok"])
    assert len(verdicts) == 2
    assert verdicts[1].labels == ()
    assert all(0.0 <= s <= 1.0 for s in verdicts[0].scores.values())


def test_huge_abusive_text_is_still_flagged() -> None:
    assert Label.ABUSE in RULES.classify(["hello " * 200_000 + " you idiot"])[0].labels


def test_rule_scores_come_in_a_fixed_order() -> None:
    verdict = RULES.classify(["you paki slut, I know where you live, send nudes"])[0]
    assert len(verdict.scores) >= 4
    assert list(verdict.scores) == sorted(verdict.scores)


def test_every_safe_phrase_passes_the_spelt_out_hint_check() -> None:
    from classifiers import lexicon, rules

    # the hint check is a hand-written chain of substring tests: a safe phrase it missed would
    # never be blanked, and "faggots and mash" would be hate again
    assert all(rules._has_safe_hint(hint) for hint in rules._SAFE_HINTS)
    assert all(any(hint in phrase for hint in rules._SAFE_HINTS)
               for phrase in lexicon.SAFE_PHRASES)
