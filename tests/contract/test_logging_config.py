"""Every function logs at the LogLevel parameter, as deployed.

Under LoggingConfig LogFormat JSON, Lambda sets AWS_LAMBDA_LOG_LEVEL from ApplicationLogLevel (INFO when unset) and
Powertools obeys it over POWERTOOLS_LOG_LEVEL. So the level a function logs at is what Powertools makes of both
variables as Lambda would set them from the template, which is what these tests compute.
"""

from __future__ import annotations

import logging
from itertools import count
from typing import Any

import pytest
from aws_lambda_powertools import Logger

# Lambda's application log level under LogFormat JSON when LoggingConfig names none.
LAMBDA_DEFAULT_APPLICATION_LEVEL = "INFO"
LAMBDA_APPLICATION_LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
LAMBDA_SYSTEM_LEVELS = {"DEBUG", "INFO", "WARN"}
_names = count()


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource.get("Properties") or {}
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def effective_logging_config(template: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """Globals' LoggingConfig with the function's own keys over it: SAM merges maps key by key, the function's
    key winning (samtranslator's globals plugin; checked on its expansion of this template)."""
    globals_ = template.get("Globals", {}).get("Function", {}).get("LoggingConfig") or {}
    return {**globals_, **(props.get("LoggingConfig") or {})}


def resolve(template: dict[str, Any], value: Any, log_level: str) -> str:
    """``value`` of the template with parameter LogLevel = ``log_level``: a string, its Ref or a FindInMap on it."""
    if isinstance(value, str):
        return value
    if value == {"Ref": "LogLevel"}:
        return log_level
    if isinstance(value, dict) and list(value) == ["Fn::FindInMap"]:
        mapping, key, attribute = value["Fn::FindInMap"]
        return str(template["Mappings"][mapping][resolve(template, key, log_level)][attribute])
    raise AssertionError(f"cannot evaluate {value!r}")


def powertools_level(lambda_level: str, powertools_level: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The level a Powertools Logger takes with the two variables set as Lambda would."""
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", lambda_level)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", powertools_level)
    logger = Logger(service=f"log-level-contract-{next(_names)}")
    return logging.getLevelName(logger.log_level)


def log_levels(template: dict[str, Any]) -> list[str]:
    return list(template["Parameters"]["LogLevel"]["AllowedValues"])


def test_every_function_logs_at_the_log_level_parameter(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    found = functions(template)
    assert found
    env_globals = template["Globals"]["Function"]["Environment"]["Variables"]
    for log_level in log_levels(template):
        for name, props in found.items():
            config = effective_logging_config(template, props)
            assert config.get("LogFormat") == "JSON", name
            application = resolve(
                template, config.get("ApplicationLogLevel", LAMBDA_DEFAULT_APPLICATION_LEVEL), log_level
            )
            system = resolve(template, config.get("SystemLogLevel", "INFO"), log_level)
            env = env_globals | ((props.get("Environment") or {}).get("Variables") or {})
            assert application in LAMBDA_APPLICATION_LEVELS and system in LAMBDA_SYSTEM_LEVELS, (name, log_level)
            powertools = resolve(template, env["POWERTOOLS_LOG_LEVEL"], log_level)
            assert powertools_level(application, powertools, monkeypatch) == log_level, (
                f"{name} logs at {application} under LogLevel {log_level}: set LoggingConfig.ApplicationLogLevel"
            )


def test_system_logs_keep_every_invocations_report_line(template: dict[str, Any]) -> None:
    """START/END/REPORT (duration, memory, timeouts) are INFO system logs: never filtered out."""
    for log_level in log_levels(template):
        for name, props in functions(template).items():
            config = effective_logging_config(template, props)
            assert resolve(template, config.get("SystemLogLevel", "INFO"), log_level) in ("DEBUG", "INFO"), name
