"""The scrubber removes personal data from SMS-style messages and leaves the question intact.

Each message with personal data is checked twice: its exact scrubbed form, and that no
digit run or name from the data is left anywhere in it.
"""

import re
from typing import List

import pytest

from bot.scrub import scrub

# (message, scrubbed, pieces of personal data that must be gone)
PERSONAL = [
    # English
    ("call me at 407-555-1234 please", "call me at [phone] please", ["407", "1234"]),
    ("my number is (407) 555-1234 can police ask my status", "my number is [phone] can police ask my status", ["555"]),
    ("+1 407.555.1234 text me back", "[phone] text me back", ["407"]),
    ("my cell 4075551234, ICE came to my job", "my cell [phone], ICE came to my job", ["4075551234"]),
    ("email me maria.lopez@gmail.com about DACA", "email me [email] about DACA", ["maria.lopez", "gmail"]),
    ("my A number is A123456789 do I have court", "my A number is [a-number] do I have court", ["123456789"]),
    ("A# 123 456 789 is my alien number", "[a-number] is my alien number", ["123 456 789"]),
    ("A-Number: 123-456-789 case pending", "[a-number] case pending", ["123-456-789"]),
    ("my U visa receipt is EAC-21-054-12345", "my U visa receipt is [receipt]", ["EAC-21", "12345"]),
    ("ssn 123-45-6789 is it safe to give", "ssn [id] is it safe to give", ["6789"]),
    ("my passport is X12345678 they took it", "my passport is [id] they took it", ["X12345678"]),
    ("I live at 123 Main St, Apt 4B in Orlando ICE is outside", "I live at [address] in Orlando ICE is outside", ["123 Main", "4B"]),
    ("4500 NW 7th Avenue Miami police came", "[address] Miami police came", ["4500", "7th"]),
    ("My name is Maria Lopez and ICE came to my house", "My name is [name] and ICE came to my house", ["Maria", "Lopez"]),
    ("hi my name is john, can they deport me", "hi my name is [name], can they deport me", ["john"]),
    ("case number 87654321 for my husband", "case number [number] for my husband", ["87654321"]),
    # Spanish
    ("Mi número es +52 55 1234 5678, llámame", "Mi número es [phone], llámame", ["5678"]),
    ("mi número A 123456789 y tengo corte en Miami", "mi número [a-number] y tengo corte en Miami", ["123456789"]),
    ("me llamo juan perez y necesito ayuda con la policía", "me llamo [name] y necesito ayuda con la policía", ["juan", "perez"]),
    ("mi nombre es José. La policía me paró en Orlando", "mi nombre es [name]. La policía me paró en Orlando", ["José"]),
    ("vivo en Calle Ocho 1234 en Miami", "vivo en [address] en Miami", ["1234", "Ocho"]),
    ("vivo en 1234 calle 8 SW, ICE en la puerta", "vivo en [address], ICE en la puerta", ["1234"]),
    ("recibo IOE0912345678 pendiente de mi visa U", "recibo [receipt] pendiente de mi visa U", ["IOE", "0912345678"]),
    ("mi cel ４０７-５５５-１２３４", "mi cel [phone]", ["４０７", "１２３４"]),
    ("Mi nombre es María José García López, vivo en Madison", "Mi nombre es [name], vivo en Madison", ["José", "López"]),
    # Portuguese
    ("meu nome é Ana Silva e moro em Boston", "meu nome é [name] e moro em Boston", ["Ana", "Silva"]),
    ("moro na Rua Augusta, 500 em São Paulo", "moro na [address] em São Paulo", ["Augusta", "500"]),
    ("meu whatsapp é +55 (11) 91234-5678", "meu whatsapp é [phone]", ["91234", "5678"]),
    # French
    ("je m'appelle Marie Dupont, je suis à Chicago", "je m'appelle [name], je suis à Chicago", ["Marie", "Dupont"]),
    ("j'habite au 15 rue de la Paix, la police peut entrer?", "j'habite au [address], la police peut entrer?", ["15", "Paix"]),
    ("mon téléphone 06 12 34 56 78", "mon téléphone [phone]", ["06 12", "78"]),
    # Haitian Creole
    ("mwen rele Jean Baptiste, mwen bezwen èd", "mwen rele [name], mwen bezwen èd", ["Jean", "Baptiste"]),
    ("whatsapp mwen +509 3712 3456", "whatsapp mwen [phone]", ["3712", "3456"]),
    ("mwen rete 45 Ri Lamarre nan Miami", "mwen rete [address] nan Miami", ["45", "Lamarre"]),
    # Tagalog
    ("ang pangalan ko ay Juan dela Cruz, taga Chicago", "ang pangalan ko ay [name], taga Chicago", ["Juan", "Cruz"]),
    ("tawagan mo ako sa 0917 123 4567", "tawagan mo ako sa [phone]", ["0917", "4567"]),
    ("nakatira ako sa 123 Kalye Rizal", "nakatira ako sa [address]", ["123", "Rizal"]),
    # Vietnamese
    ("tên tôi là Nguyễn Văn An, tôi ở Orlando", "tên tôi là [name], tôi ở Orlando", ["Nguyễn", "Văn", "An,"]),
    ("tôi ở 123 Đường Lê Lợi quận 1", "tôi ở [address] quận 1", ["123", "Lê Lợi"]),
    ("số điện thoại của tôi là 0912 345 678", "số điện thoại của tôi là [phone]", ["0912", "678"]),
    # Chinese
    ("我叫王小明，我住在纽约", "我叫[name]，我住在纽约", ["王小明"]),
    ("我住在中山路123号，警察可以问我的身份吗", "我住在[address]，警察可以问我的身份吗", ["中山路", "123"]),
    ("我的电话是138 1234 5678", "我的电话是[phone]", ["138", "5678"]),
    ("我叫Maria Lopez我在芝加哥", "我叫[name]我在芝加哥", ["Maria", "Lopez"]),
    # Korean
    ("제 이름은 김민수입니다. 경찰이 체류 신분을 물어볼 수 있나요?", "제 이름은 [name]입니다. 경찰이 체류 신분을 물어볼 수 있나요?", ["김민수"]),
    ("저는 테헤란로 123에 살아요", "저는 [address]에 살아요", ["테헤란로", "123"]),
    ("제 전화번호는 010-1234-5678 입니다", "제 전화번호는 [phone] 입니다", ["010", "5678"]),
    # Arabic
    ("اسمي محمد علي وأنا في ميامي", "اسمي [name] وأنا في ميامي", ["محمد", "علي"]),
    ("رقمي ٠٥٥١٢٣٤٥٦٧ اتصل بي", "رقمي [phone] اتصل بي", ["٠٥٥١٢٣٤٥٦٧"]),
    ("أسكن في شارع الحرية 12 هل يمكن للشرطة الدخول", "أسكن في [address] هل يمكن للشرطة الدخول", ["الحرية", "12"]),
]

UNCHANGED = [
    "can police in Orlando ask my status",
    "will the police ask about my immigration status in orlando?",
    "I came in 2019, can I still apply for DACA?",
    "what is 287(g) and does Orange County have it",
    "how do I file the I-918 for a U visa",
    "I-918 Supplement B certification in Chicago",
    "from 2019-2020 I lived in Miami, now in Madison",
    "ICE stopped 3 people on my street",
    "I have 2 kids and I drive to work every day",
    "what does SB 1718 mean for me in Florida",
    "¿La policía de Miami puede preguntar mi estatus migratorio?",
    "¿puedo denunciar un crimen en Miami sin que me deporten?",
    "vivo en Calle Ocho desde 2015",
    "camino al trabajo 2 horas cada día",
    "mwen rele lapolis yè swa",
    "ICE nan pòt mwen, kisa pou m fè?",
    "Posso pedir o DACA se cheguei em 2012?",
    "la police peut-elle me demander mes papiers à Paris?",
    "奥兰多的警察可以问我的身份吗？",
    "我叫了警察，他们会问我的身份吗？",
    "올랜도 경찰이 제 체류 신분을 물어볼 수 있나요?",
    "هل يمكن للشرطة في شيكاغو أن تسألني عن وضعي؟",
    "Maaari bang tanungin ng pulis ang aking status sa San Francisco?",
    "Cảnh sát ở Washington DC có thể hỏi tình trạng di trú của tôi không?",
    "the 2025 ICE memo about courthouse arrests",
    "I paid $1,500 to a notario in 2018",
    "call 911 if it is an emergency?",
    "I-130, I-485, N-400 and the I-247A detainer",
    "8 CFR 287.7 and 8 U.S.C. 1373",
    "court on 3/15/2025 at 9:30 in Chicago",
    "what does Executive Order 14159 of 2025 change",
    "Executive Order 14159 2025",
]


def digit_runs(text: str) -> List[str]:
    return re.findall(r"\d+", text)


@pytest.mark.parametrize("message, scrubbed, gone", PERSONAL, ids=[case[0][:40] for case in PERSONAL])
def test_personal_data_is_replaced(message: str, scrubbed: str, gone: List[str]) -> None:
    result = scrub(message)
    assert result == scrubbed
    for piece in gone:
        assert piece not in result
    assert re.search(r"\[(phone|email|a-number|receipt|address|name|id|number)\]", result)


def test_table_covers_enough_messages_and_languages() -> None:
    assert len(PERSONAL) >= 30
    scripts = {
        "zh": "[\u4e00-\u9fff]",
        "ko": "[가-힣]",
        "ar": "[\u0600-\u06ff]",
        "vi": "[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ]",
    }
    for language, script in scripts.items():
        assert any(re.search(script, message, re.IGNORECASE) for message, _, _ in PERSONAL), language


@pytest.mark.parametrize("message", UNCHANGED)
def test_messages_without_personal_data_are_unchanged(message: str) -> None:
    assert scrub(message) == message


@pytest.mark.parametrize("message", [case[0] for case in PERSONAL] + UNCHANGED)
def test_scrubbing_twice_changes_nothing_more(message: str) -> None:
    once = scrub(message)
    assert scrub(once) == once


def test_no_long_digit_run_survives_anywhere() -> None:
    message = "ref 12345678901234 and code 7654321 but 2019 and 287(g) stay"
    assert scrub(message) == "ref [number] and code [number] but 2019 and 287(g) stay"
    assert all(len(run) < 7 for run in digit_runs(scrub(message)))


def test_digits_in_other_scripts_are_found_and_kept_text_is_untouched() -> None:
    # Arabic-Indic and full-width digits count as digits; what is kept is not rewritten.
    assert scrub("سنة ٢٠١٩ ورقمي ٤٠٧٥٥٥١٢٣٤") == "سنة ٢٠١٩ ورقمي [phone]"
    assert scrub("２０１９年来的，电话４０７５５５１２３４") == "２０１９年来的，电话[phone]"


def test_everyday_words_after_a_trigger_are_not_taken_for_a_name() -> None:
    # "m rele" is also "I called": the police are not a name.
    assert scrub("m rele lapolis pou vwazen mwen") == "m rele lapolis pou vwazen mwen"
    assert scrub("my name is on the lease, can ICE come in") == "my name is on the lease, can ICE come in"
