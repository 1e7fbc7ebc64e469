"""The one vocabulary (`bot/data/vocabulary.yml`) and a matcher tolerant of Danish as citizens write it.

A phrase in the vocabulary is a few words, each matched after `normalise`:

- `a|b|c` is one word with alternatives: "min|vores søn|datter";
- a word ending in `*` matches every word that starts with it: "indlæg*", "genoptræningsplan*";
- `...` stands for up to four words of any kind: "bliver ... dårligere|værre";
- `<tal>` is any number: "jeg er <tal>".

Words are compared after folding case and diacritics (æ/ø/å, ē), Danish/Latin spelling variants
(c/k, ph/f, th/t, x/ks, z/s, w/v, ae/æ/e, oe/ø/o, aa/å/a, doubled letters) and a small Danish
suffix stripper (genitive -s, definite -en/-et/-ne, plural -er/-e: "parkinsons", "sklerosen",
"muskelsvindet"). Words of five letters or more also match with a typo (rapidfuzz ratio at least
`fuzzy.threshold`, same first letter). A phrase preceded by a negation ("ikke", "ingen", "aldrig" within a few
words, not across "men", "fordi", a comma ...) or with one in its `...` is a negated match.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from functools import cache, lru_cache
from typing import Any, Iterator, Literal, Mapping, Sequence

from pydantic import BaseModel, Field, ValidationError, root_validator, validator
from rapidfuzz import fuzz

from bot.datafiles import load_yaml
from bot.errors import DataFileError
from bot.text import fold

VOCABULARY_FILE = "vocabulary.yml"
GAP = "..."
NUMBER = "<tal>"
GAP_WORDS = 4

# -- normalisation ---------------------------------------------------------------------------

_SPELLING = (("ph", "f"), ("th", "t"), ("ch", "k"), ("qu", "kv"), ("c", "k"), ("q", "k"), ("x", "ks"),
             ("z", "s"), ("w", "v"), ("ae", "e"), ("oe", "o"))  # fmt: skip
_DOUBLE = re.compile(r"([a-z])\1+")
_SUFFIXES = ("erne", "ende", "ene", "ens", "ers", "ets", "en", "et", "er", "es", "ne", "s", "e", "t")
_MIN_STEM = 3
_WORD = re.compile(r"[a-z0-9]+|[,.;:!?]")


@lru_cache(maxsize=8192)
def spell(word: str) -> str:
    """A folded word with Danish/Latin spelling variants made one: 'sclerose' -> 'sklerose'."""
    for old, new in _SPELLING:
        word = word.replace(old, new)
    return _DOUBLE.sub(r"\1", word)


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """A spelt word without up to two inflection suffixes: 'sklerosen' and 'sklerose' -> 'sklero'."""
    if word.isdigit():
        return word
    for _ in range(2):
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
                word = word[: -len(suffix)]
                break
        else:
            break
    return word


@dataclasses.dataclass(frozen=True)
class Token:
    folded: str  # as folded by bot.text.fold: for negations and numbers
    spelt: str
    stem: str


def tokens(text: str) -> tuple[Token, ...]:
    """The message's words (and clause punctuation), folded, spelt and stemmed."""
    return tuple(_tokens(fold(text)))


@lru_cache(maxsize=1024)
def _tokens(folded: str) -> tuple[Token, ...]:
    return tuple(Token(w, spell(w), stem(spell(w))) for w in _WORD.findall(folded))


# -- phrases ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Word:
    spelt: str
    stem: str
    prefix: bool

    def matches(self, token: Token, threshold: int, min_length: int) -> bool:
        if self.prefix:
            return token.spelt.startswith(self.spelt)
        if token.stem == self.stem or token.spelt == self.spelt:
            return True
        if len(self.spelt) < min_length or len(token.spelt) < min_length or token.spelt.isdigit():
            return False
        if token.spelt[0] != self.spelt[0]:  # typos keep the first letter; "umotiveret" is no typo
            return False
        return _fuzzy(self.spelt, self.stem, token.spelt, token.stem, threshold)


@lru_cache(maxsize=65536)
def _fuzzy(spelt: str, stem: str, token_spelt: str, token_stem: str, threshold: int) -> bool:
    """A word and a message's word alike enough to be a typo (rapidfuzz ratio, spelt or stemmed)."""
    return max(fuzz.ratio(token_spelt, spelt), fuzz.ratio(token_stem, stem)) >= threshold


Slot = tuple[Word, ...] | Literal["gap", "number"]


@dataclasses.dataclass(frozen=True)
class Alternatives:
    """A word slot's alternatives, indexed to try a message's word against all of them at once
    (what `any(word.matches(token) for word in slot)` says, without trying them one by one)."""

    spelts: frozenset[str]  # the alternatives that are no prefix, spelt ...
    stems: frozenset[str]  # ... and stemmed
    prefixes: tuple[str, ...]  # the prefix alternatives ("indlæg*"), spelt
    by_initial: Mapping[str, tuple[Word, ...]]  # the alternatives that are no prefix, by first letter

    @classmethod
    def of(cls, words: tuple[Word, ...]) -> Alternatives:
        exact = [w for w in words if not w.prefix]
        by_initial: dict[str, tuple[Word, ...]] = {}
        for word in exact:
            by_initial[word.spelt[0]] = (*by_initial.get(word.spelt[0], ()), word)
        return cls(
            frozenset(w.spelt for w in exact),
            frozenset(w.stem for w in exact),
            tuple(w.spelt for w in words if w.prefix),
            by_initial,
        )


def _alternatives(slots: tuple[Slot, ...]) -> tuple[Alternatives | None, ...]:
    return tuple(None if isinstance(slot, str) else Alternatives.of(slot) for slot in slots)


@dataclasses.dataclass(frozen=True)
class Phrase:
    text: str
    slots: tuple[Slot, ...]
    # the word slots indexed for matching (None for gap and number), made with the phrase
    alternatives: tuple[Alternatives | None, ...] = dataclasses.field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "alternatives", _alternatives(self.slots))


@dataclasses.dataclass(frozen=True)
class Heads:
    """The first slots of a list of phrases, indexed: which phrases can start at a message's word."""

    by_spelt: Mapping[str, tuple[int, ...]]  # phrase indices by a first word's spelling ...
    by_stem: Mapping[str, tuple[int, ...]]  # ... and stem (alternatives that are no prefix)
    prefixes: tuple[tuple[str, int], ...]  # (prefix, phrase index)
    by_initial: Mapping[str, tuple[tuple[Word, int], ...]]  # (word, phrase index) by first letter: typos
    numbers: tuple[int, ...]  # phrases that start with a number

    @classmethod
    def of(cls, phrases: Sequence[Phrase]) -> Heads:
        by_spelt: dict[str, list[int]] = {}
        by_stem: dict[str, list[int]] = {}
        prefixes: list[tuple[str, int]] = []
        by_initial: dict[str, list[tuple[Word, int]]] = {}
        numbers: list[int] = []
        for index, phrase in enumerate(phrases):
            head = phrase.alternatives[0]
            if head is None:  # a phrase starts with a word or a number (parse_phrase)
                numbers.append(index)
                continue
            for spelt in head.spelts:
                by_spelt.setdefault(spelt, []).append(index)
            for stem_ in head.stems:
                by_stem.setdefault(stem_, []).append(index)
            prefixes += [(prefix, index) for prefix in head.prefixes]
            for initial, words in head.by_initial.items():
                by_initial.setdefault(initial, []).extend((word, index) for word in words)
        return cls(
            {k: tuple(v) for k, v in by_spelt.items()},
            {k: tuple(v) for k, v in by_stem.items()},
            tuple(prefixes),
            {k: tuple(v) for k, v in by_initial.items()},
            tuple(numbers),
        )


class Phrases(tuple[Phrase, ...]):
    """Phrases tried in order (a tuple), their first slots indexed once for `Matcher.first`."""

    @functools.cached_property
    def heads(self) -> Heads:
        return Heads.of(self)


def parse_phrase(text: str) -> Phrase:
    """A vocabulary phrase compiled for matching; ValueError when it is not one."""
    slots: list[Slot] = []
    for part in text.replace("-", " ").split():  # "Charcot-Marie-Tooth": three words
        if part == GAP:
            slots.append("gap")
        elif part == NUMBER:
            slots.append("number")
        else:
            words = []
            for alternative in part.split("|"):
                prefix = alternative.endswith("*")
                folded = fold(alternative.rstrip("*"))
                if not re.fullmatch(r"[a-z0-9]+", folded):
                    raise ValueError(f"{text!r}: {alternative!r} is not a word")
                words.append(Word(spell(folded), stem(spell(folded)), prefix))
            slots.append(tuple(words))
    if not slots or slots[0] == "gap" or slots[-1] == "gap":
        raise ValueError(f"{text!r}: a phrase has words and does not start or end with {GAP}")
    return Phrase(text, tuple(slots))


def expand(text: str) -> list[str]:
    """Every plain wording of a phrase: 'min|vores søn' -> ['min søn', 'vores søn']."""
    wordings = [""]
    for part in text.split():
        wordings = [f"{w} {alt}".strip() for w in wordings for alt in part.split("|")]
    return wordings


@dataclasses.dataclass(frozen=True)
class Match:
    start: int
    end: int
    negated: bool


class Matcher:
    """Finds phrases in tokens, with negation, by the vocabulary's thresholds."""

    def __init__(self, negations: Sequence[str], breakers: Sequence[str], threshold: int, min_length: int):
        self.negations = frozenset(fold(n) for n in negations)
        self.breakers = frozenset(fold(b) for b in breakers) | {",", ".", ";", ":", "!", "?"}
        self.threshold = threshold
        self.min_length = min_length

    def find(self, phrase: Phrase, words: Sequence[Token]) -> Match | None:
        """The first match of `phrase` in `words`, preferring one that is not negated."""
        head, alternatives = phrase.slots[0], phrase.alternatives[0]
        starts = [i for i, token in enumerate(words) if self._fits(head, alternatives, token)]
        return self._from(phrase, words, starts)

    def first(self, phrases: Sequence[Phrase], words: Sequence[Token]) -> Match | None:
        """The first match of any of `phrases` (in their order), preferring one that is not negated:
        the first of `find(phrase, words)` for each phrase that is not negated, else the first.
        With `Phrases`, only the phrases whose first slot a word of the message fills are tried."""
        if not isinstance(phrases, Phrases):
            return self._first_of((p, self.find(p, words)) for p in phrases)
        heads = phrases.heads
        starts: dict[int, list[int]] = {}
        for i, token in enumerate(words):
            spelt = token.spelt
            fit = {*heads.by_spelt.get(spelt, ()), *heads.by_stem.get(token.stem, ())}
            fit.update(index for prefix, index in heads.prefixes if spelt.startswith(prefix))
            if heads.numbers and token.folded.isdigit():
                fit.update(heads.numbers)
            if len(spelt) >= self.min_length and not spelt.isdigit():  # typos keep the first letter
                for word, index in heads.by_initial.get(spelt[0], ()):
                    if (
                        index not in fit
                        and len(word.spelt) >= self.min_length
                        and _fuzzy(word.spelt, word.stem, spelt, token.stem, self.threshold)
                    ):
                        fit.add(index)
            for index in fit:
                starts.setdefault(index, []).append(i)
        return self._first_of(
            (phrases[index], self._from(phrases[index], words, starts[index])) for index in sorted(starts)
        )

    @staticmethod
    def _first_of(found: Iterator[tuple[Phrase, Match | None]]) -> Match | None:
        negated: Match | None = None
        for _, match in found:
            if match is not None and not match.negated:
                return match
            negated = negated or match
        return negated

    def _from(self, phrase: Phrase, words: Sequence[Token], starts: Sequence[int]) -> Match | None:
        """`find` from the words at `starts` (ascending), which fill the phrase's first slot."""
        first: Match | None = None
        for start in starts:
            for end, gaps in self._at(phrase.slots, phrase.alternatives, 1, words, start + 1):
                negated = any(words[i].folded in self.negations for i in gaps) or self.negated_before(
                    words, start
                )
                match = Match(start, end, negated)
                if not negated:
                    return match
                first = first or match
        return first

    def _fits(self, slot: Slot, alternatives: Alternatives | None, token: Token) -> bool:
        """Whether one word of the message fills a word or number slot of a phrase: as
        `any(word.matches(token, ...) for word in slot)`, by the slot's index."""
        if alternatives is None:
            return slot == "number" and token.folded.isdigit()
        spelt = token.spelt
        if spelt in alternatives.spelts or token.stem in alternatives.stems:
            return True
        for prefix in alternatives.prefixes:
            if spelt.startswith(prefix):
                return True
        if len(spelt) < self.min_length or spelt.isdigit():
            return False
        for word in alternatives.by_initial.get(spelt[0], ()):  # typos keep the first letter
            if len(word.spelt) >= self.min_length and _fuzzy(
                word.spelt, word.stem, spelt, token.stem, self.threshold
            ):
                return True
        return False

    def negated_before(self, words: Sequence[Token], start: int, window: int = 4) -> bool:
        for i in range(start - 1, max(-1, start - 1 - window), -1):
            if words[i].folded in self.breakers:
                return False
            if words[i].folded in self.negations:
                return True
        return False

    def _at(
        self,
        slots: Sequence[Slot],
        alternatives: Sequence[Alternatives | None],
        k: int,
        words: Sequence[Token],
        i: int,
    ) -> Iterator[tuple[int, list[int]]]:
        """(end, indices of the words a `...` took) for every way `slots[k:]` match from word i."""
        if k == len(slots):
            yield i, []
            return
        if slots[k] == "gap":
            for skip in range(GAP_WORDS + 1):
                if i + skip > len(words) or any(w.folded in self.breakers for w in words[i : i + skip]):
                    return
                for end, gaps in self._at(slots, alternatives, k + 1, words, i + skip):
                    yield end, [*range(i, i + skip), *gaps]
            return
        if i < len(words) and self._fits(slots[k], alternatives[k], words[i]):
            yield from self._at(slots, alternatives, k + 1, words, i + 1)


# -- the data file -----------------------------------------------------------------------------


class _Strict(BaseModel):
    class Config:
        extra = "forbid"
        frozen = True


class Option(_Strict):
    """One choice's words: `terms` count anywhere in a message (also said in passing);
    `answers` only as the answer to the pending question (descriptions, bare words)."""

    terms: list[str] = []
    answers: list[str] = []
    if_negated: str | None = None  # the choice a negated term or answer means ("ikke lyst": no)
    any_diagnosis: bool = False  # a named diagnosis means this choice ("det er hans parkinson")


class Diagnosis(_Strict):
    names: list[str] = Field(min_items=1)
    type: Literal["progressive", "severe_physical"] | None = None  # answers diagnosis_type
    child: bool = False  # a child with it has a functional impairment (child_disability)


class Statements(_Strict):
    hospital_stay: list[str]  # a stay: "indlagt", "opereret"
    hospital_visit: list[str]  # back from hospital: counts as a stay unless it was a control visit
    outpatient: list[str]  # "kontrol", "ambulant": no stay
    rehab_plan: list[str]
    doctor_referral: list[str]
    physiotherapy: list[str]  # a referral is for physiotherapy only when this is said too
    home_training: list[str]  # parents would train their child at home: the route, asked for


class Fuzzy(_Strict):
    threshold: int = Field(ge=50, le=100)  # rapidfuzz ratio 0-100
    min_length: int = Field(ge=3)  # shorter words are matched exactly


class Vocabulary(_Strict):
    fuzzy: Fuzzy
    negations: list[str]
    negation_breakers: list[str]
    choices: dict[str, dict[str, Option]]
    diagnoses: list[Diagnosis]
    statements: Statements
    nlu_regexes: dict[str, list[str]] = {}

    @root_validator(skip_on_failure=True)
    def _consistent(cls, values: dict[str, Any]) -> dict[str, Any]:
        from bot.questions import questions

        for fact, options in values["choices"].items():
            spec = questions().get(fact)
            if spec is None or spec.kind not in ("choice", "number"):
                raise ValueError(f"choices: {fact!r} is not a choice question in questions.yml")
            for value, option in options.items():
                if value not in spec.options:
                    raise ValueError(f"choices.{fact}: {value!r} is not an option of the question")
                if option.if_negated is not None and option.if_negated not in spec.options:
                    raise ValueError(f"choices.{fact}.{value}: if_negated {option.if_negated!r} is no option")
                for phrase in (*option.terms, *option.answers):
                    parse_phrase(phrase)
        for diagnosis in values["diagnoses"]:
            for name in diagnosis.names:
                parse_phrase(name)
        for phrases in values["statements"].dict().values():
            for phrase in phrases:
                parse_phrase(phrase)
        return values

    @validator("negations", "negation_breakers", each_item=True)
    def _one_word(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z]+", fold(value)):
            raise ValueError(f"{value!r} is not one word")
        return value

    @classmethod
    def from_raw(cls, raw: Any) -> Vocabulary:
        try:
            return cls.parse_obj(raw)
        except (ValidationError, ValueError, TypeError) as e:
            raise DataFileError(f"{VOCABULARY_FILE}: {e}") from e


class Compiled:
    """The vocabulary with its phrases compiled for matching (built once per vocabulary)."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.data = vocab
        self.matcher = Matcher(
            vocab.negations, vocab.negation_breakers, vocab.fuzzy.threshold, vocab.fuzzy.min_length
        )
        self._diagnoses: dict[tuple[str | None, bool | None], Phrases] = {}
        self._choices = {
            (fact, value, answer): self._option_phrases(fact, value, answer)
            for fact, options in vocab.choices.items()
            for value in options
            for answer in (False, True)
        }
        self._statements = {name: Phrases(map(parse_phrase, phrases)) for name, phrases in vocab.statements}

    def options(self, fact: str) -> tuple[str, ...]:
        """The options the vocabulary has words for, in the order they are tried."""
        return tuple(self.data.choices.get(fact, {}))

    def option(self, fact: str, value: str) -> Option:
        return self.data.choices[fact][value]

    def phrases(self, fact: str, value: str, *, answer: bool) -> Phrases:
        """The phrases that mean `value` for `fact`: its terms, with `answer` its answers too."""
        return self._choices.get((fact, value, answer), Phrases())

    def diagnoses(self, *, type: str | None = None, child: bool | None = None) -> Phrases:
        """The diagnoses' names (of a `type`, for a `child`), compiled once per selection."""
        key = (type, child)
        if key not in self._diagnoses:
            self._diagnoses[key] = Phrases(
                parse_phrase(name)
                for d in self.data.diagnoses
                if (type is None or d.type == type) and (child is None or d.child == child)
                for name in d.names
            )
        return self._diagnoses[key]

    def statement(self, name: str) -> Phrases:
        return self._statements[name]

    def _option_phrases(self, fact: str, value: str, answer: bool) -> Phrases:
        option = self.data.choices[fact][value]
        found = list(self.diagnoses(type=value)) if fact == "diagnosis_type" else []
        found += [parse_phrase(p) for p in (*option.terms, *(option.answers if answer else ()))]
        if option.any_diagnosis and answer:
            found += self.diagnoses()
        return Phrases(found)


@cache
def vocabulary() -> Vocabulary:
    """The validated vocabulary, read once per process."""
    return Vocabulary.from_raw(load_yaml(VOCABULARY_FILE))


@cache
def compiled() -> Compiled:
    """The vocabulary compiled for matching, once per process."""
    return Compiled(vocabulary())
