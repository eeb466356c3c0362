"""Remove personal data from a message before anything keeps it.

Organizers read what the bot could not answer, to improve the knowledge base. They need
the question, never who asked: phone numbers, e-mail addresses, A-Numbers, USCIS
receipt numbers, SSNs and other ID numbers, street addresses and self-introduced names
are replaced by placeholders such as "[phone]", and the rest of the text (places,
topics, form numbers, years) is kept as written.

Detection runs on a copy of the text in which every digit is ASCII and full-width
letters and punctuation are their ASCII selves, so "４０７-５５５-１２３４" and
"٤٠٧٥٥٥١٢٣٤" are found like "407-555-1234". The copy has the same length as the text,
so what was found is cut out of the original, and everything kept looks as it was sent.

Pure Python and re, no Rasa: any process that keeps text can scrub it without loading a model.
"""

import re
import unicodedata
from typing import Iterator, List, Optional, Tuple

Span = Tuple[int, int, str]

_DASHES = dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63", "-")


def _detection_char(ch: str) -> str:
    """One character of the detection copy: always exactly one character, so offsets agree."""
    if ch.isascii():
        return ch
    if ch.isdecimal():
        # Arabic-Indic (٠-٩), Persian (۰-۹), full-width and every other script's digits.
        return str(unicodedata.decimal(ch))
    if ch in _DASHES:
        return _DASHES[ch]
    compatible = unicodedata.normalize("NFKC", ch)
    if len(compatible) == 1 and compatible.isascii():
        return compatible  # full-width letters and signs: "Ａ", "＋", "（", "＠", ideographic space
    return ch


# --- Identifiers with a fixed shape -----------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

# USCIS receipt numbers: a service-center code and ten digits, often written EAC-21-054-12345.
_RECEIPT_CENTERS = "IOE|EAC|WAC|LIN|SRC|NBC|MSC|YSC|CSC|NSC|TSC|VSC|ZLA|ZNY|ZSF|ZHN"
_RECEIPT = re.compile(
    rf"(?<![^\W\d_])(?:(?i:{_RECEIPT_CENTERS})[\s#:*-]*\d(?:[\s-]?\d){{9}}|[A-Z]{{3}}\d{{10}})(?!\d)"
)

# A-Numbers: "A123456789", "A-12345678", "A# 123 456 789", "A-Number: 123-456-789".
_A_NUMBER = re.compile(
    r"(?<![^\W\d_])(?i:a)(?:[\s-]?(?i:number|num|no)\b\.?)?[\s:#.-]*\d(?:[\s.-]?\d){7,8}(?!\d)"
)

_SSN = re.compile(r"(?<![\d-])\d{3}[\s.-]\d{2}[\s.-]\d{4}(?![\d-])")

# An ID named as such: "passport X1234567", "licencia: D123-456-78-901-0".
_LABELLED_ID = re.compile(
    r"(?i:\b(?:passport|pasaporte|passeport|passaporte|paspò|hộ chiếu|ho chieu|"
    r"driver'?s? licen[cs]e|licen[cs]e|licencia|licença|carteira|permis|itin|ssn|"
    r"social security|seguro social|segurança social|sécurité sociale|id)\b)"
    r"(?:\s*(?i:number|no\.?|num\.?|número|numero|numéro|nº|#|:|is|es|est|é))*\s*"
    r"(?P<id>[A-Za-z0-9][A-Za-z0-9-]{4,})"
)

# --- Phone numbers ------------------------------------------------------------------------

# A number may follow Chinese, Korean or Arabic without a space ("电话是138..."), not Latin letters.
_NO_NUMBER_BEFORE = r"(?<![0-9A-Za-z\u00c0-\u024f+])"
# North American: +1 (407) 555-1234, 1.407.555.1234, 4075551234.
_PHONE_NANP = re.compile(
    rf"{_NO_NUMBER_BEFORE}(?:\+?1[\s.-]?)?(?:\(\d{{3}}\)|\d{{3}})[\s.-]?\d{{3}}[\s.-]?\d{{4}}(?!\d)"
)
# With a country code: +509 3712 3456, 00 52 55 1234 5678, +55 (11) 91234-5678.
_PHONE_INTERNATIONAL = re.compile(
    rf"{_NO_NUMBER_BEFORE}(?:\+|(?<!\d)00)\s?\d{{1,3}}(?:[\s.-]?\(?\d{{1,5}}\)?){{1,6}}(?!\d)"
)
# Local numbers elsewhere: 3712-3456, 138 1234 5678, 0917 123 4567, 06 12 34 56 78.
_PHONE_LOCAL = re.compile(
    r"(?<![0-9A-Za-z\u00c0-\u024f+$€£/.,_-])(?:\(\d{2,5}\)\s?|\d{2,5}[\s.-])(?:\d{2,5}[\s.-]){0,3}\d{2,5}"
    r"(?![0-9A-Za-z\u00c0-\u024f/]|[.,]\d)"
)
_LONG_NUMBER = re.compile(r"\d{7,}")
_YEAR = re.compile(r"(?:19|20)\d\d")


def _phone_digits(found: str, low: int, high: int) -> bool:
    return low <= sum(ch.isdigit() for ch in found) <= high


def _local_phone(found: str) -> bool:
    """Whether a run of digit groups is a phone number, not years or a date."""
    if not _phone_digits(found, 7, 12):
        return False
    groups = re.findall(r"\d+", found)
    if len(groups) == 2 and all(_YEAR.fullmatch(group) for group in groups):
        return False  # "2019-2020", "2019 2020"
    if len(groups) == 2 and _YEAR.fullmatch(groups[1]) and " " in found:
        return False  # "Executive Order 14159 2025"
    date_like = len(groups) == 3 and len(groups[0]) <= 2 and len(groups[1]) <= 2 and len(groups[2]) in (2, 4)
    return not date_like


# --- Street addresses -----------------------------------------------------------------------

# Words that never belong to a street name: "3 people on the street" is not an address.
_NOT_STREET_NAME = (
    r"(?i:the|a|an|my|our|your|his|her|their|this|that|these|those|on|in|at|of|to|and|or|for|"
    r"with|from|by|near|into|is|are|was|were|be|i|we|you|they|he|she|it|me|us|them|"
    r"people|cops|police|officers|agents|cars|kids|children|times|days|years|months|"
    r"el|la|los|las|un|una|mi|mis|en|de|del|al|y|o|que|donde|desde|por|para|con|"
    r"le|les|des|du|et|ou|dans|sur|à|os|as|um|uma|meu|minha|na|no|nas|nos|em|e|"
    r"nan|ak|nou|yo|li|mwen|ang|sa|ng|mga)\b"
)
_STREET_NAME_WORD = rf"(?!{_NOT_STREET_NAME})(?:[^\W\d_][\w'’.-]*|\d{{1,3}}(?i:st|nd|rd|th))"
# Street types that are also everyday words ("drive", "court", "way") count only capitalized.
_STREET_TYPE = (
    r"(?:(?i:st|str|street|ave|avenue|rd|road|blvd|boulevard|hwy|highway|pkwy|parkway)"
    r"|Dr|Drive|Ln|Lane|Ct|Court|Pl|Place|Ter|Terrace|Cir|Circle|Trl|Trail|Way|Sq|Square)"
)
_DIRECTION = r"(?:N|S|E|W|NE|NW|SE|SW)\b"
_UNIT = r"(?:,?\s*(?i:apt|apartment|unit|suite|ste|#)\.?\s*#?\s*[A-Za-z0-9-]{1,6}\b)?"
# English order: "123 Main St", "4500 NW 7th Avenue, Apt 2B".
_ADDRESS_EN = re.compile(
    rf"(?<![\w.,/$-])\d{{1,6}}[A-Za-z]?\s+(?:{_STREET_NAME_WORD}\s+){{1,4}}{_STREET_TYPE}\b\.?"
    rf"(?:\s+{_DIRECTION})?{_UNIT}"
)
_PO_BOX = re.compile(r"(?i:\bp\.?\s?o\.?\s*box)\s*#?\s*\d+")

_STREET_WORD = (
    r"(?i:calle|avenida|avda\.?|av\.|carrera|camino|paseo|rua|travessa|alameda|estrada|"
    r"rue|avenue|boulevard|bd|chemin|allée|impasse|wout|kalye|kalsada|"
    r"đường|duong|phố|ngõ|hẻm|ri)"
)
# Street type first, number last: "Calle Ocho 123", "Rua Augusta, 500", "Kalye Mabini 45".
_ADDRESS_TYPE_FIRST = re.compile(
    rf"(?<!\w){_STREET_WORD}\s+(?:(?:{_STREET_NAME_WORD}|\d{{1,4}})[\s,]+){{1,4}}?"
    r"(?:#|(?i:n[º°o]\.?|no\.?|num\.?|número|numero|số|so))?\s*\d{1,6}[A-Za-z]?(?![\w])"
    r"(?!\s*(?i:años|anos|ans|years|taon|năm|ane|lane|fwa|veces|vezes|fois|times|horas|hours|heures|minutos|minutes|"
    r"días|dias|days|jours|semanas|weeks|meses|months|mois|dólares|dolares|dollars|reais)\b)"
)
# Number first, street type, then the name: "15 rue de la Paix", "123 Đường Lê Lợi".
_ADDRESS_NUMBER_FIRST = re.compile(rf"(?<![\w.,/$-])\d{{1,6}}[A-Za-z]?,?\s+{_STREET_WORD}\s+")
_PARTICLE = re.compile(r"\s*(?i:de|del|du|des|la|le|las|los|do|da|dos|das)\s+")
_WORD = re.compile(r"\s*([^\W\d_][\w'’-]*)")
# "1234 Calle 8 SW", "12 avenue 5".
_NUMBERED_STREET = re.compile(rf"\d{{1,4}}\b(?:\s+{_DIRECTION})?")

# Chinese: "中山路123号", "北京市朝阳区建国路88号5室". The characters before the street exclude
# common verbs and particles, so "我住在中山路123号" keeps "我住在".
_HAN_NOT_PLACE = "我你他她们住在是的到去从從於于和与與近附家离離对對叫有要想"
_ADDRESS_ZH = re.compile(
    rf"(?:(?![{_HAN_NOT_PLACE}])[\u4e00-\u9fff]){{1,12}}(?:大道|大街|路|街|道|巷|弄)\s*\d{{1,5}}\s*(?:号|號)?"
    r"(?:\s*\d{1,5}\s*(?:室|楼|樓|层|層))?"
)
# Korean road-name addresses: "테헤란로 123", "세종대로 110", "중앙길 5-2".
_ADDRESS_KO = re.compile(
    r"[가-힣]{1,10}(?:대로|로|길)\s?\d{1,5}(?:-\d{1,5})?(?:번길)?(?![\d년월일살명개시분원달주번세])"
)
# Arabic: "شارع الحرية 12", "12 شارع الحرية".
_ADDRESS_AR = re.compile(
    r"شارع\s+[\u0600-\u06ff]+(?:\s+[\u0600-\u06ff]+)?\s*(?:رقم\s*)?\d{1,6}(?!\d)|(?<!\d)\d{1,6}\s*شارع\s+[\u0600-\u06ff]+"
)

# --- Names ------------------------------------------------------------------------------------

# Self-introductions, longest first so "ang pangalan ko ay si" wins over "ang pangalan ko".
_NAME_TRIGGER_LATIN = re.compile(
    r"(?i:\b(?:my\s+name\s+is|my\s+name's|i'?m\s+called|"
    r"me\s+llamo|mi\s+nombre\s+es|"
    r"je\s+m['’\s]?\s?appelle|mon\s+nom\s+(?:est|c'est)|"
    r"meu\s+nome\s+[ée]|eu\s+me\s+chamo|me\s+chamo|"
    r"non\s+(?:mwen|m)\s+se|mwen\s+rele|m\s+rele|"
    r"ang\s+pangalan\s+ko\s+ay\s+si|ang\s+pangalan\s+ko\s+ay|pangalan\s+ko\s+ay|ang\s+pangalan\s+ko|ako\s+(?:po\s+)?si|"
    r"t[êe]n\s+c[ủu]a\s+t[ôo]i\s+l[àa]|t[êe]n\s+t[ôo]i\s+l[àa]|t[ôo]i\s+t[êe]n\s+l[àa]|t[ôo]i\s+t[êe]n|"
    r"t[êe]n\s+em\s+l[àa]|em\s+t[êe]n\s+l[àa]|em\s+t[êe]n)\b)\s*[:,-]?"
)
_NAME_TRIGGER_ARABIC = re.compile(r"(?<![\u0600-\u06ff])و?(?:اسمي|إسمي|أسمي)(?:\s+هو|\s+هي)?\s*[:،]?")
# "叫" is also "to call": "我叫了警察" (I called the police) introduces no one.
_NAME_ZH = re.compile(
    r"(?:我的名字(?:是|叫)|我名叫|我叫(?!了|过|過|着|警察|救护|律师|律師|人))\s*[:：]?\s*"
    r"(?P<name>[\u4e00-\u9fff]{1,3}|[A-Za-z\u00c0-\u024f]+(?:\s[A-Z][A-Za-z\u00c0-\u024f]*)?)"
)
_NAME_KO = re.compile(
    r"(?:제|내|저의|나의)?\s*이름은\s*(?P<name>[가-힣A-Za-z]+?)"
    r"(?:입니다|이에요|예요|이고요?|고요?|이며|이라고|라고)?(?![가-힣A-Za-z])"
)

# Words that follow a trigger but are not a name ("m rele lapolis" is "I called the police").
# Compared case-folded but with accents kept: folded "Lê" would be French "le".
_NOT_A_NAME = frozenset(
    word.casefold()
    for word in """
    and but or so i im i'm my me from live living here in at on the a is was need have has can could
    please help what how where when why who police ice lawyer immigration not just also too
    y pero o vivo soy estoy tengo necesito quiero de del en por para la el los las un una ayer hoy
    mi me que policia policía abogado inmigracion inmigración ya tambien también
    e mas ou moro sou estou tenho preciso quero do da em na no um uma ontem hoje meu minha advogado
    et mais je j'ai j’ai habite suis ai besoin veux le les des du dans un une hier avocat
    ak men mwen m nou ou li yo la lapolis polis avoka imigrasyon ki bezwen genyen gen rete pa yè
    at pero ako ko po ay ng sa mga nakatira taga kailangan abogado pulis
    va và tôi toi o ở cần can muon muốn la là cua của
    و وأنا انا أنا من في عندي أعيش اسكن أسكن ساكن مقيم هل ممكن لدي عمري أريد احتاج أحتاج الشرطة محامي
    """.split()
)
_NAME_PARTICLES = frozenset("de del dela delos la las los da das do dos van von der di du".split())


def _caseless(word: str) -> bool:
    return not word[:1].isupper() and not word[:1].islower()


def _name_end(text: str, start: int) -> Optional[Tuple[int, int]]:
    """The span of the one to four words of a name starting at `start`, if they look like one.

    A second word is taken when it is written like the first (both capitalized, both
    lowercase, or both in a script without case) and is not an everyday word; a third
    and a fourth only when all are capitalized ("Nguyễn Văn An", "María José García López").
    Particles between capitalized words go with them ("Juan dela Cruz").
    """
    words: List[str] = []
    first = end = -1
    position = start
    while len(words) < 4:
        found = _WORD.match(text, position)
        if not found:
            break
        if words and words[0][0].isupper():
            after = found
            while after and after.group(1).casefold() in _NAME_PARTICLES:
                after = _WORD.match(text, after.end(1))
            if after is not found and after and after.group(1)[0].isupper():
                found = after
        word = found.group(1)
        if word.casefold() in _NOT_A_NAME:
            break
        if words:
            same_style = (
                (word[0].isupper() and words[0][0].isupper())
                or (word[0].islower() and words[0][0].islower())
                or (_caseless(word) and _caseless(words[0]))
            )
            if not same_style or (len(words) >= 2 and not word[0].isupper()):
                break
        else:
            first = found.start(1)
        words.append(word)
        end = found.end(1)
        position = end
    return (first, end) if words else None


def _names(text: str) -> Iterator[Span]:
    for trigger in (_NAME_TRIGGER_LATIN, _NAME_TRIGGER_ARABIC):
        for found in trigger.finditer(text):
            span = _name_end(text, found.end())
            if span:
                yield span[0], span[1], "[name]"
    for pattern in (_NAME_ZH, _NAME_KO):
        for found in pattern.finditer(text):
            if found.group("name").casefold() not in _NOT_A_NAME:
                yield found.start("name"), found.end("name"), "[name]"


def _addresses(text: str) -> Iterator[Span]:
    yield from _matches(_ADDRESS_EN, text, "[address]")
    yield from _matches(_PO_BOX, text, "[address]")
    # Before the type-first form, which would otherwise take "Đường Lê Lợi quận 1" from
    # "123 Đường Lê Lợi quận 1" and leave the house number.
    for found in _ADDRESS_NUMBER_FIRST.finditer(text):
        position = found.end()
        particle = _PARTICLE.match(text, position - 1)
        while particle:
            position = particle.end()
            particle = _PARTICLE.match(text, position - 1)
        numbered = _NUMBERED_STREET.match(text, position)
        span = (position, numbered.end()) if numbered else _name_end(text, position)
        if span:
            yield found.start(), span[1], "[address]"
    for pattern in (_ADDRESS_TYPE_FIRST, _ADDRESS_ZH, _ADDRESS_KO, _ADDRESS_AR):
        yield from _matches(pattern, text, "[address]")


def _matches(pattern: "re.Pattern[str]", text: str, placeholder: str) -> Iterator[Span]:
    for found in pattern.finditer(text):
        yield found.start(), found.end(), placeholder


def _candidates(text: str) -> Iterator[Span]:
    """Everything that looks personal, most specific kinds first (they win overlaps)."""
    yield from _matches(_EMAIL, text, "[email]")
    yield from _matches(_RECEIPT, text, "[receipt]")
    yield from _matches(_A_NUMBER, text, "[a-number]")
    yield from _matches(_SSN, text, "[id]")
    for found in _LABELLED_ID.finditer(text):
        if sum(ch.isdigit() for ch in found.group("id")) >= 4:
            yield found.start("id"), found.end("id"), "[id]"
    for found in _PHONE_INTERNATIONAL.finditer(text):
        if _phone_digits(found.group(), 8, 15):
            yield found.start(), found.end(), "[phone]"
    yield from _matches(_PHONE_NANP, text, "[phone]")
    for found in _PHONE_LOCAL.finditer(text):
        if _local_phone(found.group()):
            yield found.start(), found.end(), "[phone]"
    yield from _addresses(text)
    yield from _names(text)
    yield from _matches(_LONG_NUMBER, text, "[number]")


def scrub(text: str) -> str:
    """The text with personal data replaced by placeholders ("[phone]", "[name]"...)."""
    text = unicodedata.normalize("NFC", text)
    detection = "".join(_detection_char(ch) for ch in text)
    taken: List[Span] = []
    for start, end, placeholder in _candidates(detection):
        if start < end and all(end <= kept_start or start >= kept_end for kept_start, kept_end, _ in taken):
            taken.append((start, end, placeholder))
    pieces: List[str] = []
    position = 0
    for start, end, placeholder in sorted(taken):
        pieces += [text[position:start], placeholder]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
