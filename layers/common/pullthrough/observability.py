"""One Logger for every function. Service name and level come from the template's Globals (POWERTOOLS_*).

No Tracer: it imports the X-Ray SDK (~400 ms of cold start); the template turns on Lambda's own active tracing.
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger

logger = Logger(service="pullthrough")

# botocore logs whole response bodies at DEBUG, GetSecretValue's SecretString included. Pin it to WARNING so no
# root-level DEBUG setting can ever put a credential value in a log line.
for _name in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)
