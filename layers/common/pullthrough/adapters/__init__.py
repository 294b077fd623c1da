"""AWS adapters: the only modules that call boto3; each translates ClientError into domain exceptions once."""
