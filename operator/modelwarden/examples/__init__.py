"""Sample fraud model, its traffic generator (`fraud`) and model server (`model_server`)."""
