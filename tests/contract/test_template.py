"""Contract tests of template.yaml: what the deployed app relies on, checked without an AWS account.

The template is parsed with cfn-lint's decoder (plain YAML loaders reject !Ref, !Sub, !GetAtt). IAM actions are
checked against the IAM action catalog that ships with cfn-lint.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.data import AdditionalSpecs
from cfnlint.decode import decode
from cfnlint.helpers import load_resource

from local.iam_needs import Call, needs_of
from local.iam_policies import function_statements, translate
from local.template_reader import Resolver
from tests.support import invoked_function

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SECRET_NAMESPACE = "ecr-pullthroughcache/"
# SAM policy templates reviewed as narrow (one table, one function, one state machine, one bus). A new one
# must be reviewed and added here.
REVIEWED_POLICY_TEMPLATES = {
    "DynamoDBCrudPolicy",
    "LambdaInvokePolicy",
    "StepFunctionsExecutionPolicy",
    "EventBridgePutEventsPolicy",
}
PUBLIC_ROUTES = {
    ("POST", "/rules"),
    ("GET", "/rules"),
    ("GET", "/rules/{prefix+}"),
    ("PUT", "/rules/{prefix+}"),
    ("DELETE", "/rules/{prefix+}"),
    ("POST", "/pull-tests"),
    ("GET", "/rollouts/{rolloutId}"),
    ("GET", "/swagger"),
}


# ---------------------------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    tpl, problems = decode(str(TEMPLATE))
    assert not problems, [str(p) for p in problems]
    assert tpl is not None
    return tpl


@pytest.fixture(scope="module")
def iam_catalog() -> dict[str, Any]:
    return load_resource(AdditionalSpecs, "Policies.json")


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def function_properties(template: dict[str, Any], name: str) -> dict[str, Any]:
    """A function's properties with the template's Globals.Function under them (top-level keys only)."""
    merged = dict(template.get("Globals", {}).get("Function", {}))
    merged.update(template["Resources"][name].get("Properties", {}))
    return merged


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def sub_string(value: Any) -> str | None:
    """The format string of a Fn::Sub (either form), a plain string as is, else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return None


def iam_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(owner resource, statement) for every IAM statement written in the template."""
    for name, res in template["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            for policy in as_list(props.get("Policies", [])):
                if isinstance(policy, dict) and "Statement" in policy:
                    for statement in as_list(policy["Statement"]):
                        yield name, statement
        documents = [props.get("PolicyDocument"), props.get("AssumeRolePolicyDocument")]
        documents += [p.get("PolicyDocument") for p in props.get("Policies", []) if isinstance(p, dict)]
        if res["Type"].startswith("AWS::Serverless::"):
            documents = []
        for document in documents:
            if isinstance(document, dict):
                for statement in as_list(document.get("Statement", [])):
                    yield name, statement


def sam_policy_templates(template: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(owner, SAM policy template name, its parameters) for every policy template used."""
    for name, res in template["Resources"].items():
        if res["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            for policy in as_list(res.get("Properties", {}).get("Policies", [])):
                if isinstance(policy, dict) and "Statement" not in policy:
                    for key, params in policy.items():
                        yield name, key, params


def actions_of(statement: dict[str, Any]) -> list[str]:
    return [str(a) for a in as_list(statement.get("Action", []))]


def catalog_entry(catalog: dict[str, Any], action: str) -> dict[str, Any] | None:
    service, _, name = action.lower().partition(":")
    return catalog.get(service, {}).get("Actions", {}).get(name)


# ---------------------------------------------------------------------------------------------------------------
# Functions and the shared layer


def test_every_function_codeuri_holds_the_configured_handler(template: dict[str, Any]) -> None:
    functions = resources_of(template, "AWS::Serverless::Function")
    assert functions, "the template defines no functions"
    for name in functions:
        props = function_properties(template, name)
        module, _, attr = props["Handler"].rpartition(".")
        code_dir = ROOT / props["CodeUri"]
        source = code_dir / f"{module.replace('.', '/')}.py"
        assert source.is_file(), f"{name}: {source.relative_to(ROOT)} does not exist"
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)} | {
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        assert attr in defined, f"{name}: {source.relative_to(ROOT)} defines no top-level {attr!r}"


def test_layer_is_built_for_the_functions_runtime_and_architecture(template: dict[str, Any]) -> None:
    globals_ = template["Globals"]["Function"]
    runtime, architectures = globals_["Runtime"], globals_["Architectures"]
    layers = resources_of(template, "AWS::Serverless::LayerVersion")
    assert layers
    for name, layer in layers.items():
        props, metadata = layer["Properties"], layer.get("Metadata", {})
        assert runtime in props["CompatibleRuntimes"], name
        assert set(architectures) <= set(props["CompatibleArchitectures"]), name
        # A makefile build: pinned boto3/botocore trimmed to the services we call (tests/contract/test_layer_sdk.py).
        assert metadata.get("BuildMethod") == "makefile", f"{name}: sam build must build the layer with its Makefile"
        assert [metadata.get("BuildArchitecture")] == architectures, name
        assert (ROOT / props["ContentUri"] / "Makefile").read_text().count(f"build-{name}:") == 1, name
        assert (ROOT / props["ContentUri"] / "pullthrough" / "__init__.py").is_file(), name
    assert all(
        function_properties(template, f)["Runtime"] == runtime
        for f in resources_of(template, "AWS::Serverless::Function")
    )


def _requirements(path: Path) -> dict[str, tuple[set[str], str]]:
    pins: dict[str, tuple[set[str], str]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)(?:\[([^\]]*)\])?==([^\s;]+)", line)
        assert match, f"{path.name}: {raw!r} is not pinned as name[extras]==version"
        name = re.sub(r"[-_.]+", "-", match[1]).lower()
        extras = {e.strip() for e in (match[2] or "").split(",") if e.strip()}
        pins[name] = (extras, match[3])
    return pins


def _locked_runtime_closure() -> dict[str, str]:
    """Name -> version of the app's runtime dependencies in uv.lock (what `uv export --no-dev` lists)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    packages = {p["name"]: p for p in lock["package"]}
    root = next(p for p in lock["package"] if p.get("source", {}).get("virtual") == ".")
    todo = [(d["name"], tuple(d.get("extra", []))) for d in root.get("dependencies", [])]
    seen: dict[str, str] = {}
    while todo:
        name, extras = todo.pop()
        package = packages[name]
        if name not in seen:
            seen[name] = package["version"]
            todo += [(d["name"], tuple(d.get("extra", []))) for d in package.get("dependencies", [])]
        for extra in extras:
            todo += [(d["name"], ()) for d in package.get("optional-dependencies", {}).get(extra, [])]
    return seen


def test_layer_requirements_are_the_locked_runtime_dependencies_sdk_included(template: dict[str, Any]) -> None:
    """The layer ships boto3/botocore at the lock's versions: the runtime's bundled SDK varies and may be too old."""
    (layer,) = resources_of(template, "AWS::Serverless::LayerVersion").values()
    pinned = _requirements(ROOT / layer["Properties"]["ContentUri"] / "requirements.txt")
    locked = _locked_runtime_closure()
    assert {name: version for name, (_, version) in pinned.items()} == locked
    assert {"boto3", "botocore"} <= set(pinned)


# ---------------------------------------------------------------------------------------------------------------
# The state machine


def _state_machines(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    machines = resources_of(template, "AWS::Serverless::StateMachine")
    assert machines, "the template defines no state machine"
    return machines


def test_asl_placeholders_match_definition_substitutions(template: dict[str, Any]) -> None:
    for name, machine in _state_machines(template).items():
        props = machine["Properties"]
        assert "Definition" not in props, f"{name}: keep the ASL in statemachine/*.asl.json"
        asl = ROOT / props["DefinitionUri"]
        if not asl.is_file():
            pytest.skip(f"{asl.relative_to(ROOT)} does not exist yet")
        text = asl.read_text(encoding="utf-8")
        json.loads(text)
        used = set(re.findall(r"\$\{([^}]*)\}", text))
        substituted = set(props.get("DefinitionSubstitutions", {}))
        assert not used - substituted, f"{name}: placeholders with no substitution: {sorted(used - substituted)}"
        assert not substituted - used, f"{name}: substitutions the ASL never uses: {sorted(substituted - used)}"


def test_state_machine_may_invoke_exactly_the_functions_it_is_given(template: dict[str, Any]) -> None:
    functions = resources_of(template, "AWS::Serverless::Function")
    for name, machine in _state_machines(template).items():
        props = machine["Properties"]
        given = set()
        for key, value in props.get("DefinitionSubstitutions", {}).items():
            if isinstance(value, dict) and "Fn::GetAtt" in value:
                assert as_list(value["Fn::GetAtt"])[0] not in functions, (
                    f"{name}: {key} must be the alias (!Ref .Alias)"
                )
            target = invoked_function(value)
            if target in functions:
                given.add(target)
        invokable = {
            params["FunctionName"]["Ref"]
            for owner, policy, params in sam_policy_templates(template)
            if owner == name and policy == "LambdaInvokePolicy"
        }
        assert given, f"{name}: no function ARN is substituted into the ASL"
        assert invokable == given


def test_state_machine_role_allows_its_direct_service_integrations(template: dict[str, Any]) -> None:
    """Task states that call DynamoDB or EventBridge themselves need those actions on the state machine's role."""
    for name, machine in _state_machines(template).items():
        props = machine["Properties"]
        asl = ROOT / props["DefinitionUri"]
        if not asl.is_file():
            pytest.skip(f"{asl.relative_to(ROOT)} does not exist yet")
        text = asl.read_text("utf-8")
        pattern = r'"arn:(?:aws|\$\{Partition\}):states:::(dynamodb|events):(\w+)(?:\.\w+)?"'
        integrations = set(re.findall(pattern, text))
        assert integrations or ":states:::" not in text, f"{name}: the ASL's integrations were not recognised"
        needed = {f"{service}:{op[0].upper()}{op[1:]}" for service, op in integrations}
        granted = {
            action
            for owner, statement in iam_statements(template)
            if owner == name and statement.get("Effect") == "Allow"
            for action in actions_of(statement)
        }
        granted |= {
            "events:PutEvents"
            for owner, policy, _ in sam_policy_templates(template)
            if owner == name and policy == "EventBridgePutEventsPolicy"
        }
        assert needed <= granted, f"{name}: the ASL calls {sorted(needed - granted)} but the role may not"


def _distributed_maps(machine: dict[str, Any]) -> list[str]:
    """Names of the Distributed Map states at any depth of an ASL definition."""
    found = []
    for name, state in machine.get("States", {}).items():
        processor = state.get("ItemProcessor") or {}
        if processor.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED":
            found.append(name)
        for nested in [processor, *state.get("Branches", [])]:
            found += _distributed_maps(nested)
    return found


def test_state_machine_role_may_start_follow_and_stop_its_distributed_map_children(template: dict[str, Any]) -> None:
    """A Distributed Map runs each item as a child execution of the same state machine: Step Functions needs
    states:StartExecution on the state machine, and states:DescribeExecution and StopExecution (a failed Map Run
    stops the running children) on its child executions, whose ARNs are ``execution:<name>/<label>:<id>``. moto runs
    the children without checking the role, so only this test holds the template to it."""
    for name, machine in _state_machines(template).items():
        props = machine["Properties"]
        asl = ROOT / props["DefinitionUri"]
        if not _distributed_maps(json.loads(asl.read_text("utf-8"))):
            continue
        state_machine = sub_string(props.get("Name"))
        assert state_machine, f"{name}: a Distributed Map's role needs the state machine's name (set Name)"
        prefix = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
        granted: dict[str, set[str | None]] = {}
        for owner, statement in iam_statements(template):
            if owner == name and statement.get("Effect") == "Allow":
                for action in actions_of(statement):
                    granted.setdefault(action, set()).update(sub_string(r) for r in as_list(statement["Resource"]))
        assert f"{prefix}:stateMachine:{state_machine}" in granted.get("states:StartExecution", set())
        for action in ("states:DescribeExecution", "states:StopExecution"):
            assert granted.get(action) == {f"{prefix}:execution:{state_machine}/*"}, (action, granted.get(action))


def test_state_machine_logs_no_execution_data(template: dict[str, Any]) -> None:
    for name, machine in _state_machines(template).items():
        props = machine["Properties"]
        logging = props["Logging"]
        assert logging["IncludeExecutionData"] is False, f"{name}: execution data would reach CloudWatch Logs"
        assert logging["Level"] in ("ERROR", "FATAL", "ALL"), name
        assert logging["Destinations"], name
        assert props["Tracing"]["Enabled"] is True, name
        assert props.get("Type", "STANDARD") == "STANDARD", name


# ---------------------------------------------------------------------------------------------------------------
# IAM


def test_no_statement_allows_every_action_of_a_service(template: dict[str, Any]) -> None:
    statements = list(iam_statements(template))
    assert statements
    for owner, statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        assert "NotAction" not in statement, f"{owner}: Allow with NotAction"
        assert "NotResource" not in statement, f"{owner}: Allow with NotResource"
        for action in actions_of(statement):
            assert "*" not in action, f"{owner}: {action!r} allows more than named actions"


def test_every_action_exists_and_star_resources_are_only_where_iam_demands_them(
    template: dict[str, Any], iam_catalog: dict[str, Any]
) -> None:
    for owner, statement in iam_statements(template):
        if statement.get("Principal"):  # resource policies (queue policy): checked by their own tests
            continue
        entries = {action: catalog_entry(iam_catalog, action) for action in actions_of(statement)}
        unknown = [action for action, entry in entries.items() if entry is None]
        assert not unknown, f"{owner}: unknown IAM actions {unknown}"
        if statement.get("Effect") == "Allow" and "*" in as_list(statement.get("Resource")):
            scoped = [action for action, entry in entries.items() if entry and entry.get("Resources")]
            assert not scoped, f"{owner}: {scoped} support resource-level permissions but are granted on '*'"


def test_sam_policy_templates_are_reviewed_ones(template: dict[str, Any]) -> None:
    for owner, policy, _ in sam_policy_templates(template):
        assert policy in REVIEWED_POLICY_TEMPLATES, f"{owner}: review SAM policy template {policy} first"
    for name in resources_of(template, "AWS::Serverless::Function") | _state_machines(template):
        for policy in as_list(template["Resources"][name]["Properties"].get("Policies", [])):
            assert not isinstance(policy, str), f"{name}: managed policy {policy} (write narrow statements)"


def test_source_secret_prefix_stays_inside_the_ecr_secret_namespace(template: dict[str, Any]) -> None:
    param = template["Parameters"]["SourceSecretPrefix"]
    assert param["Default"].startswith(SECRET_NAMESPACE)
    assert param["AllowedPattern"].startswith("^" + SECRET_NAMESPACE)
    assert re.fullmatch(param["AllowedPattern"], param["Default"])
    assert not re.fullmatch(param["AllowedPattern"], "other/")


_SECRET_ARN = re.compile(
    r"arn:\$\{AWS::Partition\}:secretsmanager:(\*|\$\{AWS::Region\}):\$\{AWS::AccountId\}:secret:"
    r"(ecr-pullthroughcache/|\$\{SourceSecretPrefix\})\S*"
)


def test_secret_permissions_are_scoped_to_the_ecr_secret_namespace_of_this_account(
    template: dict[str, Any],
) -> None:
    seen = 0
    for owner, statement in iam_statements(template):
        actions = actions_of(statement)
        if not any(a.lower().startswith("secretsmanager:") for a in actions):
            continue
        seen += 1
        assert all(a.lower().startswith("secretsmanager:") for a in actions), f"{owner}: mixed statement"
        resources = as_list(statement["Resource"])
        if resources == ["*"]:
            # ListSecrets has no resource-level permissions; nothing else may ride along on "*".
            assert statement["Effect"] == "Allow" and actions == ["secretsmanager:ListSecrets"], owner
            continue
        for resource in resources:
            arn = sub_string(resource)
            assert arn is not None and _SECRET_ARN.fullmatch(arn), f"{owner}: secret resource {resource!r}"
    assert seen


def test_only_store_secret_reads_source_secret_values(template: dict[str, Any]) -> None:
    """Source secrets hold the user's credentials: one function copies them, no other can read them."""
    readers: dict[str, list[str]] = {}
    denied: dict[str, list[str]] = {}
    for owner, statement in iam_statements(template):
        if "secretsmanager:GetSecretValue" not in actions_of(statement):
            continue
        arns = [sub_string(r) or "" for r in as_list(statement["Resource"])]
        bucket = readers if statement["Effect"] == "Allow" else denied
        bucket.setdefault(owner, []).extend(arns)
    assert "StoreSecretFunction" in readers
    for owner, arns in readers.items():
        if owner == "StoreSecretFunction":
            continue
        covers_source = any("${SourceSecretPrefix}" in a or a.endswith(f":secret:{SECRET_NAMESPACE}*") for a in arns)
        if covers_source:
            assert any(a.endswith(":secret:${SourceSecretPrefix}*") for a in denied.get(owner, [])), (
                f"{owner} can read source secret values: deny GetSecretValue on ${{SourceSecretPrefix}}*"
            )


def test_pass_role_and_service_linked_roles_are_bound_to_ecr(template: dict[str, Any]) -> None:
    for owner, statement in iam_statements(template):
        actions = actions_of(statement)
        if "iam:PassRole" in actions:
            assert actions == ["iam:PassRole"], owner
            services = as_list(statement["Condition"]["StringEquals"]["iam:PassedToService"])
            assert services and all(s.endswith("ecr.amazonaws.com") for s in services), owner
            roles = [sub_string(r) or "" for r in as_list(statement["Resource"])]
            assert all("${AWS::AccountId}:role${PassableRolePath}" in r for r in roles), owner
        if "iam:CreateServiceLinkedRole" in actions:
            assert actions == ["iam:CreateServiceLinkedRole"], owner
            service = statement["Condition"]["StringEquals"]["iam:AWSServiceName"]
            assert service.endswith("ecr.amazonaws.com"), owner
            (resource,) = as_list(statement["Resource"])
            assert f"role/aws-service-role/{service}/" in (sub_string(resource) or ""), owner


# ---------------------------------------------------------------------------------------------------------------
# Entry points


def test_api_requires_sigv4_on_every_route(template: dict[str, Any]) -> None:
    (api_name, api), *others = resources_of(template, "AWS::Serverless::Api").items()
    assert not others
    props = api["Properties"]
    assert props["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    # SAM's default for AWS_IAM is to invoke with the caller's credentials (arn:aws:iam::*:user/*).
    assert props["Auth"]["InvokeRole"] == "NONE"
    assert all(s.get("DataTraceEnabled") is False for s in props["MethodSettings"]), "bodies may hold credentials"
    routes = set()
    for name in resources_of(template, "AWS::Serverless::Function"):
        for event in function_properties(template, name).get("Events", {}).values():
            if event["Type"] == "Api":
                event_props = event["Properties"]
                assert event_props.get("RestApiId") == {"Ref": api_name}, f"{name}: route outside {api_name}"
                assert "Auth" not in event_props, f"{name}: a route overrides the API's IAM auth"
                routes.add((event_props["Method"].upper(), event_props["Path"]))
    assert routes == PUBLIC_ROUTES


def test_rule_requested_events_start_rollouts(template: dict[str, Any]) -> None:
    patterns = [
        event["Properties"]["Pattern"]
        for name in resources_of(template, "AWS::Serverless::Function")
        for event in function_properties(template, name).get("Events", {}).values()
        if event["Type"] == "EventBridgeRule"
    ]
    assert {"source": ["pullthrough"], "detail-type": ["Pull Through Cache Rule Requested"]} in patterns


def test_drift_sweep_schedule_is_off_unless_enabled(template: dict[str, Any]) -> None:
    assert template["Parameters"]["DriftSweepEnabled"]["Default"] == "false"
    schedules = [
        event["Properties"]
        for name in resources_of(template, "AWS::Serverless::Function")
        for event in function_properties(template, name).get("Events", {}).values()
        if event["Type"] == "Schedule"
    ]
    assert schedules
    for schedule in schedules:
        condition, when_on, when_off = schedule["State"]["Fn::If"]
        assert (when_on, when_off) == ("ENABLED", "DISABLED")
        assert template["Conditions"][condition] == {"Fn::Equals": [{"Ref": "DriftSweepEnabled"}, "true"]}


# ---------------------------------------------------------------------------------------------------------------
# Data at rest and outputs


def test_state_is_encrypted_and_expires(template: dict[str, Any]) -> None:
    for name, table in resources_of(template, "AWS::DynamoDB::Table").items():
        props = table["Properties"]
        # the only record of where the app keeps secrets: survives the stack, a replacement and a slip of the hand
        assert (table.get("DeletionPolicy"), table.get("UpdateReplacePolicy")) == ("Retain", "Retain"), name
        assert props["DeletionProtectionEnabled"] is True, name
        assert props["SSESpecification"]["SSEEnabled"] is True, name
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name
        assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}, name
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
    for name, queue in resources_of(template, "AWS::SQS::Queue").items():
        props = queue.get("Properties", {})
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, f"{name}: unencrypted"


def test_outputs_name_the_api_the_state_machine_and_the_table(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert {"ApiUrl", "StateMachineArn", "TableName"} <= set(outputs)
    (api,) = resources_of(template, "AWS::Serverless::Api").values()
    url = sub_string(outputs["ApiUrl"]["Value"])
    assert url == (
        "https://${RulesApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + api["Properties"]["StageName"] + "/"
    )
    assert outputs["StateMachineArn"]["Value"] == {"Ref": next(iter(_state_machines(template)))}
    assert outputs["TableName"]["Value"] == {"Ref": "RulesTable"}


# ---------------------------------------------------------------------------------------------------------------
# What each function's code calls is checked by running it: the embedded stack gives every function only its own
# environment and checks every AWS call against its role as SAM expands it (local.iam_check), in every e2e test.
# These make sure that check sees every function.


def test_the_sam_expansion_gives_every_function_a_role_the_iam_check_reads(template: dict[str, Any]) -> None:
    translated = translate(TEMPLATE)
    names = {lid: f"pullthrough-{lid}" for lid in resources_of(template, "AWS::Serverless::Function")}
    resolver = Resolver(
        refs={"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", **names},
        attrs={},
    )
    statements = function_statements(translated, resolver)
    assert set(statements) == set(names)
    for function, granted in statements.items():
        assert granted, f"{function}: SAM's expansion holds no statement for it"
    # SAM's policy templates come out expanded: the API may start executions of the state machine
    api_actions = {action for statement in statements["ApiFunction"] for action in statement.actions}
    assert {"states:StartExecution", "dynamodb:PutItem", "dynamodb:Query"} <= api_actions


def test_the_actions_the_iam_check_adds_for_a_call_exist(iam_catalog: dict[str, Any]) -> None:
    calls = [
        Call("secretsmanager", "CreateSecret", {"Name": "n", "Tags": [{"Key": "k", "Value": "v"}]}, "us-east-1", "1"),
        Call(
            "ecr",
            "CreatePullThroughCacheRule",
            {"credentialArn": "arn:aws:secretsmanager:::secret:x", "customRoleArn": "arn:aws:iam::1:role/r"},
            "us-east-1",
            "1",
        ),
        Call(
            "ecr",
            "UpdateRepositoryCreationTemplate",
            {
                "prefix": "p",
                "lifecyclePolicy": "{}",
                "repositoryPolicy": "{}",
                "customRoleArn": "arn:aws:iam::1:role/r",
            },
            "us-east-1",
            "1",
        ),
    ]
    for call in calls:
        for need in needs_of(call):
            assert catalog_entry(iam_catalog, need.action) is not None, need.action


def test_rule_requests_come_only_from_the_apps_own_bus_and_only_from_named_principals(template: dict[str, Any]) -> None:
    """Confused deputy: whoever can put a rule request makes the app pass roles and write policies with its rights."""
    rule = function_properties(template, "RuleRequestedFunction")["Events"]["RuleRequested"]["Properties"]
    assert rule["EventBusName"] == {"Ref": "AppEventBus"}
    policy = template["Resources"]["AppEventBusRequestersOnly"]["Properties"]
    assert policy["EventBusName"] == {"Ref": "AppEventBus"}
    statement = policy["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "events:PutEvents")
    assert statement["Condition"]["StringEquals"] == {"events:detail-type": "Pull Through Cache Rule Requested"}
    assert statement["Condition"]["ArnNotLike"] == {"aws:PrincipalArn": {"Ref": "RequesterPrincipalArns"}}
    assert template["Outputs"]["EventBusName"]["Value"] == {"Ref": "AppEventBus"}


def test_snapstart_is_an_option_off_by_default_and_triggers_and_steps_invoke_the_published_alias(
    template: dict[str, Any],
) -> None:
    assert template["Parameters"]["SnapStart"]["Default"] == "false"
    assert template["Conditions"]["SnapStartOn"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "true"]}
    functions = template["Globals"]["Function"]
    assert functions["SnapStart"] == {
        "Fn::If": ["SnapStartOn", {"ApplyOn": "PublishedVersions"}, {"Ref": "AWS::NoValue"}]
    }
    assert functions["AutoPublishAlias"] == "live"  # SnapStart snapshots published versions only
    assert int(re.fullmatch(r"python3\.(\d+)", functions["Runtime"]).group(1)) >= 12  # type: ignore[union-attr]
    # What SAM makes of it: every trigger (API routes, EventBridge rules) invokes the alias.
    resources = translate(TEMPLATE)["Resources"]
    targets = [
        target["Arn"]
        for resource in resources.values()
        if resource["Type"] == "AWS::Events::Rule"
        for target in resource["Properties"]["Targets"]
    ]
    permissions = [
        r["Properties"]["FunctionName"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"
    ]
    assert targets and permissions
    assert all(ref["Ref"].endswith("Aliaslive") for ref in [*targets, *permissions])
    # ...and so does every step of the state machine (with $LATEST, SnapStart would never reach them).
    (machine,) = [r for r in resources.values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    steps = {k: v for k, v in machine["Properties"]["DefinitionSubstitutions"].items() if k.endswith("FunctionArn")}
    assert len(steps) >= 9
    assert all(value == {"Ref": key.removesuffix("Arn") + "Aliaslive"} for key, value in steps.items()), steps


def test_a_deploy_that_changes_only_the_layer_publishes_a_new_version_of_every_function(
    template: dict[str, Any], tmp_path: Path
) -> None:
    """The steps and triggers invoke the alias `live`, and the code lives in the layer: a layer-only change must move
    every alias to a new version (SAM names a version after a hash of what it covers), or they keep the old code."""
    layer = "      Description: pullthrough domain model"
    assert TEMPLATE.read_text().count(layer) == 1

    def versions(change: str) -> set[str]:
        # A new layer version (local.iam_policies.translate sets every ContentUri alike: the description stands in)
        copy = tmp_path / f"{change}.yaml"
        copy.write_text(TEMPLATE.read_text().replace(layer, f"{layer} ({change})"))
        resources = translate(copy)["Resources"]
        return {lid for lid, r in resources.items() if r["Type"] == "AWS::Lambda::Version"}

    before, after = versions("layer-a"), versions("layer-b")
    assert len(before) == len(resources_of(template, "AWS::Serverless::Function"))
    assert not before & after, "a function kept its version when the layer changed"


# ---------------------------------------------------------------------------------------------------------------
# Trust: who may act in target accounts (issue 18)

_ORG_OR_ACCOUNT = {"aws:resourceorgid", "aws:resourceaccount"}


def _condition_branches(condition: Any) -> list[dict[str, Any]]:
    """A statement's Condition as each deploy may have it: both branches of a top-level or per-operator Fn::If."""
    if not condition:
        return [{}]
    if "Fn::If" in condition:
        return [b for branch in condition["Fn::If"][1:] for b in _condition_branches(branch)]
    branches: list[dict[str, Any]] = [{}]
    for operator, block in condition.items():
        blocks = block["Fn::If"][1:] if isinstance(block, dict) and "Fn::If" in block else [block]
        branches = [{**made, operator: b} for made in branches for b in blocks]
    return branches


def translated_policy_statements() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(role, policy kind, statement) of every policy SAM's translation of template.yaml gives a role:
    "identity" for its policies, "trust" for its AssumeRolePolicyDocument."""
    for lid, resource in translate(TEMPLATE)["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        props = resource["Properties"]
        for statement in as_list(props.get("AssumeRolePolicyDocument", {}).get("Statement", [])):
            yield lid, "trust", statement
        for policy in props.get("Policies") or []:
            for statement in as_list(policy["PolicyDocument"].get("Statement", [])):
                yield lid, "identity", statement


def test_every_assume_role_grant_holds_to_the_organization_or_the_listed_accounts() -> None:
    grants = [
        (role, statement)
        for role, kind, statement in translated_policy_statements()
        if kind == "identity" and any(a.lower() == "sts:assumerole" for a in actions_of(statement))
    ]
    assert len(grants) >= 8  # the region steps and the drift sweep
    for role, statement in grants:
        assert statement["Effect"] == "Allow", role
        for branch in _condition_branches(statement.get("Condition")):
            keys = {key.lower() for block in branch.values() for key in block}
            assert keys & _ORG_OR_ACCOUNT, f"{role}: sts:AssumeRole without aws:ResourceOrgID/aws:ResourceAccount"
    # ...and which of the two is the deploy's choice: the Organization when OrganizationId is set, else the accounts
    branches = _condition_branches(grants[0][1]["Condition"])
    assert branches == [
        {"StringEquals": {"aws:ResourceOrgID": {"Ref": "OrganizationId"}}},
        {"StringEquals": {"aws:ResourceAccount": {"Ref": "TargetAccountIds"}}},
    ]


def test_no_trust_by_path_wildcard_and_aws_principals_only_under_conditions() -> None:
    trusts = [(role, s) for role, kind, s in translated_policy_statements() if kind == "trust"]
    assert trusts
    for role, statement in trusts:
        principal = statement.get("Principal", {})
        assert principal != "*" and "AWS" not in principal, f"{role} trusts AWS principals: {principal}"
        for branch in _condition_branches(statement.get("Condition")):
            for operator, block in branch.items():
                for key, value in block.items():
                    if key.lower() == "aws:principalarn":
                        assert "*" not in json.dumps(value), f"{role}: trust by wildcard {value}"
                        assert not operator.lower().endswith("like"), f"{role}: {operator} on {key}"


def test_the_function_roles_output_lists_exactly_the_functions_that_may_assume_the_execution_role(
    template: dict[str, Any],
) -> None:
    assuming = {
        role.removesuffix("Role")
        for role, kind, statement in translated_policy_statements()
        if kind == "identity" and "sts:AssumeRole" in actions_of(statement)
    }
    separator, listed = template["Outputs"]["FunctionRoleArns"]["Value"]["Fn::Join"]
    assert separator == ","
    roles = [ref["Fn::GetAtt"] for ref in listed]
    assert all(attribute == "Arn" for _, attribute in roles)
    assert sorted(role.removesuffix("Role") for role, _ in roles) == sorted(assuming)
    assert len(assuming) >= 8


def test_reserved_concurrency_for_the_region_steps_is_an_option_off_by_default(template: dict[str, Any]) -> None:
    """Reserved concurrency keeps other functions of the account from starving a rollout (and caps it): off unless
    asked, since it takes from the account's unreserved pool."""
    parameter = template["Parameters"]["StepReservedConcurrency"]
    assert (parameter["Type"], parameter["Default"], parameter["MinValue"]) == ("Number", 0, 0)
    assert template["Conditions"]["StepConcurrencyReserved"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "StepReservedConcurrency"}, "0"]}]
    }
    steps = ["SnapshotRegion", "StoreSecret", "CreateRule", "ValidateRule", "ApplyTemplate", "RemoveRule", "Rollback"]
    for step in steps:
        reserved = function_properties(template, f"{step}Function").get("ReservedConcurrentExecutions")
        assert reserved == {
            "Fn::If": ["StepConcurrencyReserved", {"Ref": "StepReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
        }, step
