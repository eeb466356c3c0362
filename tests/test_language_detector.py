"""The language detector is trained once and kept: the next process loads it, and a file
that is not a detector is never loaded."""

import pickle
from pathlib import Path

from bot.language import cached_detector, samples_key
from bot.ngram_model import NgramModel

SAMPLES = {
    "en": ["will the police ask my status", "can i call the police", "ice is at my door", "i need a lawyer", "hello there"],
    "es": ["la policia me va a preguntar mi estatus", "puedo llamar a la policia", "la migra esta en mi puerta", "necesito un abogado", "hola buenas"],
    "ht": ["eske lapolis ap mande estati mwen", "eske m ka rele lapolis", "ICE nan pot mwen", "mwen bezwen yon avoka", "bonjou zanmi"],
}


def test_a_trained_detector_is_saved_and_loaded_by_the_next_process(tmp_path: Path) -> None:
    first = cached_detector(SAMPLES, tmp_path)
    saved = list(tmp_path.glob("language-detector-*.npz"))
    assert len(saved) == 1 and samples_key(SAMPLES) in saved[0].name
    second = cached_detector(SAMPLES, tmp_path)
    assert second.model is not first.model  # loaded from the file, not trained again in memory
    for text in ("la policia me para en la calle", "m bezwen ed lapolis", "my landlord called the police"):
        assert second.detect(text) == first.detect(text)


def test_other_samples_get_their_own_detector(tmp_path: Path) -> None:
    cached_detector(SAMPLES, tmp_path)
    more = {**SAMPLES, "pt": ["a policia vai perguntar meu status", "preciso de um advogado", "ola tudo bem"]}
    assert cached_detector(more, tmp_path).detect("preciso de um advogado urgente").language == "pt"
    assert len(list(tmp_path.glob("language-detector-*.npz"))) == 2


def test_a_language_with_too_few_texts_is_left_out_not_fatal(tmp_path: Path) -> None:
    detector = cached_detector({**SAMPLES, "ko": ["경찰"]}, tmp_path)
    assert detector.languages == ["en", "es", "ht"]


def test_a_file_that_is_not_a_detector_is_refused_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / f"language-detector-{samples_key(SAMPLES)}.npz"
    path.write_bytes(pickle.dumps({"not": Path("/etc/passwd")}))
    detector = cached_detector(SAMPLES, tmp_path)
    assert detector.detect("la migra esta en mi puerta ahora").language == "es"
    assert NgramModel.load(path).classes_.tolist() == ["en", "es", "ht"]  # retrained and written over
