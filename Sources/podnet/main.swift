print("podnet")
