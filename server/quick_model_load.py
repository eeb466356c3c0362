"""Load a trained DIET model without tracing its training step first.

Rasa 3.6 builds a loaded TensorFlow model by fitting it for one step on an example, so
that the optimizer's variables exist too, then loads the weights over it. Tracing that
training step is most of a bot server's start-up, and a server never trains. Here the
model is built by predicting on the example Rasa keeps for that (creating every
variable prediction uses), and the trained weights are loaded into it; the optimizer's
saved state, needed only to train further, is left unread. Fine-tuning still takes
Rasa's own path.
"""

from typing import Any, Optional, Text

from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

_rasa_load = RasaModel.load.__func__


def install() -> None:
    """Make every RasaModel of this process load for prediction only."""
    RasaModel.load = classmethod(_load)  # type: ignore[method-assign]


def _load(
    cls: Any,
    model_file_name: Text,
    model_data_example: RasaModelData,
    predict_data_example: Optional[RasaModelData] = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    if finetune_mode or predict_data_example is None:
        return _rasa_load(cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs)
    model = cls(*args, **kwargs)
    model.run_inference(predict_data_example)
    model.load_weights(model_file_name).expect_partial()
    return model
