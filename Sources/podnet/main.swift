print("podnet: the CLI lands once its config loader and compiler exist")
