"""ECR service errors raised by the pull-through cache extension.

Each class's ``code`` is the botocore error shape name, so moto serializes it with
ECR's error model and boto3 raises a ``ClientError`` whose ``Error.Code`` is that name.
The module must not live in a package whose name starts with "moto": moto derives an
exception's service model from its module name.
"""

from moto.core.exceptions import ServiceException


class InvalidParameterException(ServiceException):
    code = "InvalidParameterException"


class ValidationException(ServiceException):
    code = "ValidationException"


class PullThroughCacheRuleAlreadyExistsException(ServiceException):
    code = "PullThroughCacheRuleAlreadyExistsException"


class PullThroughCacheRuleNotFoundException(ServiceException):
    code = "PullThroughCacheRuleNotFoundException"


class UnsupportedUpstreamRegistryException(ServiceException):
    code = "UnsupportedUpstreamRegistryException"


class LimitExceededException(ServiceException):
    code = "LimitExceededException"


class SecretNotFoundException(ServiceException):
    code = "SecretNotFoundException"


class UnableToAccessSecretException(ServiceException):
    code = "UnableToAccessSecretException"


class TemplateAlreadyExistsException(ServiceException):
    code = "TemplateAlreadyExistsException"


class TemplateNotFoundException(ServiceException):
    code = "TemplateNotFoundException"


def invalid_parameter(name: str, constraint: str) -> InvalidParameterException:
    """Build an InvalidParameterException worded like ECR's own."""
    return InvalidParameterException(f"Invalid parameter at '{name}' failed to satisfy constraint: '{constraint}'")
