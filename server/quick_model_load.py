"""Load a trained DIET model without tracing its training step first.

Rasa 3.6 builds a loaded TensorFlow model by fitting it for one step on an example, so
that the optimizer's variables exist too, then loads the weights over it. Tracing that
training step is most of a bot server's start-up, and a server never trains. Here the
model is built by predicting eagerly on the example Rasa keeps for that (creating every
variable prediction uses), the trained weights are loaded into it, and what prediction
precomputes from the weights is computed again; the optimizer's saved state, needed only
to train further, is left unread. Fine-tuning still takes Rasa's own path.
tests/test_quick_model_load.py checks that a DIET model that classifies intents and
tags entities predicts the same after either load.
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
    # Predict once eagerly to create the variables, without tracing a graph that would
    # hold on to what it computed from the untrained weights.
    compiled, model._run_eagerly = model._run_eagerly, True
    model.run_inference(predict_data_example)
    model._run_eagerly = compiled
    model.load_weights(model_file_name).expect_partial()
    # That prediction also cached what is precomputed from the weights (DIET's and TED's
    # embeddings of every label): recompute it from the trained ones, then trace the
    # prediction graph once, as Rasa's own load does.
    model.prepared_for_prediction = False
    model.run_inference(predict_data_example)
    return model
