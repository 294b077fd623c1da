"""The emulator's engine caches: one parse per definition, one client per (region, service), moto's own back after."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import moto.stepfunctions.parser.asl.utils.boto_client as boto_client
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from local.emulator import engine_tuning

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
OTHER = json.dumps({"StartAt": "Also", "States": {"Also": {"Type": "Succeed"}}})


def _worker(definition: str) -> Any:
    details = SimpleNamespace(state_machine_details=SimpleNamespace(definition=definition))
    return SimpleNamespace(_evaluation_details=details)


def test_each_definition_is_parsed_once_and_moto_gets_its_own_functions_back() -> None:
    original_entrypoint, original_client = ExecutionWorker._get_evaluation_entrypoint, boto_client.boto_client_for
    engine_tuning.install()
    try:
        entrypoint = ExecutionWorker._get_evaluation_entrypoint
        first = entrypoint(_worker(DEFINITION))
        assert entrypoint(_worker(DEFINITION)) is first
        assert entrypoint(_worker(OTHER)) is not first
        assert type(first).__name__ == "Program"
        assert boto_client.boto_client_for("eu-west-1", "lambda") is boto_client.boto_client_for("eu-west-1", "lambda")
        assert boto_client.boto_client_for("eu-west-1", "lambda") is not boto_client.boto_client_for(
            "eu-west-2", "lambda"
        )
    finally:
        engine_tuning.uninstall()
    assert ExecutionWorker._get_evaluation_entrypoint is original_entrypoint
    assert boto_client.boto_client_for is original_client
    assert not engine_tuning.is_installed()


def test_task_clients_are_cached_per_role_too() -> None:
    """The engine passes every Task's credentials (the execution role at least): those calls are cached as well."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials

    execution_role = StateCredentials(role_arn="arn:aws:iam::123456789012:role/exec")
    task_role = StateCredentials(role_arn="arn:aws:iam::123456789012:role/task")
    engine_tuning.install()
    try:
        client_for = boto_client.boto_client_for
        first = client_for("eu-west-1", "lambda", execution_role)
        assert client_for("eu-west-1", "lambda", StateCredentials(role_arn=execution_role.role_arn)) is first
        assert client_for("eu-west-1", "lambda", task_role) is not first
        assert client_for("eu-west-1", "dynamodb", execution_role) is not first
        assert client_for("eu-west-1", "lambda") is not first
    finally:
        engine_tuning.uninstall()


def test_every_engine_module_that_imported_the_client_function_gets_the_cached_one() -> None:
    """The Lambda and DynamoDB task modules import ``boto_client_for`` by name: they must call the cached one."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_dynamodb

    engine_tuning.install()
    try:
        assert lambda_eval_utils.boto_client_for is boto_client.boto_client_for
        assert state_task_service_dynamodb.boto_client_for is boto_client.boto_client_for
    finally:
        engine_tuning.uninstall()
    assert lambda_eval_utils.boto_client_for is boto_client.boto_client_for  # moto's own again


def test_a_response_class_method_list_is_computed_once_and_sees_methods_added_later() -> None:
    """moto's dispatcher asks for a response class's methods on every request: cached, but never stale."""
    import moto.core.responses
    from moto.core.utils import method_names_from_class

    class Response(moto.core.responses.BaseResponse):
        def list_things(self) -> str:
            return "[]"

    engine_tuning.install()
    try:
        cached = moto.core.responses.method_names_from_class
        assert cached is not method_names_from_class
        assert cached(Response) == method_names_from_class(Response)
        assert "list_things" in cached(Response) and "put_thing" not in cached(Response)
        Response.put_thing = lambda self: "{}"  # type: ignore[attr-defined]
        assert "put_thing" in cached(Response)
        del Response.list_things
        assert "list_things" not in cached(Response)
    finally:
        engine_tuning.uninstall()
    assert moto.core.responses.method_names_from_class is method_names_from_class


def test_error_shapes_are_looked_up_in_one_table_per_service() -> None:
    """moto builds a service's error table for every error it serialises: one table, the same answers."""
    import moto.core.errors
    from moto.core.utils import get_service_model

    class ResourceNotFoundException(Exception):
        code = "ResourceNotFoundException"

    original = moto.core.errors.ErrorLookupFactory
    model = get_service_model("secretsmanager")
    expected = original().for_service(model).from_code("ResourceNotFoundException")
    error = ResourceNotFoundException("gone")
    before = moto.core.errors.get_error_model(error, model)
    engine_tuning.install()
    try:
        factory = moto.core.errors.ErrorLookupFactory
        assert factory().for_service(model) is factory().for_service(model)
        assert factory().for_service(model).from_code("ResourceNotFoundException") is not None
        assert expected is not None and expected.name == "ResourceNotFoundException"
        assert moto.core.errors.get_error_model(error, model).name == before.name == "ResourceNotFoundException"
        assert factory().for_service(get_service_model("ecr")) is not factory().for_service(model)
    finally:
        engine_tuning.uninstall()
    assert moto.core.errors.ErrorLookupFactory is original


def test_flask_debug_files_error_keeps_its_message_with_one_class() -> None:
    """moto's apps run in Flask's debug mode: ``files[key]`` for a form field still explains the enctype."""
    import flask
    import flask.debughelpers
    import pytest

    app = flask.Flask("probe")
    app.debug = True
    seen: list[type] = []

    @app.post("/")
    def upload() -> str:
        seen.append(type(flask.request.files))
        with pytest.raises(KeyError) as missing:
            flask.request.files["other"]
        assert not isinstance(missing.value, flask.debughelpers.DebugFilesKeyError)
        with pytest.raises(flask.debughelpers.DebugFilesKeyError, match="enctype"):
            flask.request.files["upload"]
        return "ok"

    original = flask.debughelpers.attach_enctype_error_multidict
    engine_tuning.install()
    try:
        client = app.test_client()
        for _ in range(2):
            assert client.post("/", data={"upload": "x"}).text == "ok"
    finally:
        engine_tuning.uninstall()
    assert flask.debughelpers.attach_enctype_error_multidict is original
    assert len(seen) == 2 and seen[0] is seen[1]
