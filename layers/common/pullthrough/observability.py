"""One Logger for every function. Service name and level come from the template's Globals (POWERTOOLS_*).

No Tracer: it imports the X-Ray SDK (~400 ms of cold start); the template turns on Lambda's own active tracing.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="pullthrough")
