"""Contract tests of the operating side of template.yaml: each alarm watches the metric it says, with its threshold,
evaluation and missing-data rule, and notifies the alarm topic; the topic is encrypted with a key CloudWatch may use;
the dashboard shows only metrics the app emits (pullthrough.metrics.CATALOG) or AWS publishes, for resources of this
template; the API writes JSON access logs (no body, header or query value) to a log group with a retention.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pullthrough.metrics import CATALOG, NAMESPACE
from tests.support import invoked_function

ROOT = Path(__file__).resolve().parents[2]
ALARM = "AWS::CloudWatch::Alarm"
TOPIC_CHOICE = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}
THIS_STACKS_ALARMS = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AWS::StackName}-*"
SERVICE = {"service": "pullthrough"}

# What AWS publishes, by namespace: metric -> the dimension names used here. Lambda:
# https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html; Step Functions:
# https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html; SQS:
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html;
# API Gateway (REST): https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html
AWS_PUBLISHED: dict[str, dict[str, tuple[str, ...]]] = {
    "AWS/Lambda": {m: ("FunctionName",) for m in ("Errors", "Throttles", "Duration", "Invocations")},
    "AWS/States": {
        m: ("StateMachineArn",)
        for m in (
            "ExecutionsStarted",
            "ExecutionsSucceeded",
            "ExecutionsFailed",
            "ExecutionsTimedOut",
            "ExecutionsAborted",
            "ExecutionTime",
        )
    },
    "AWS/SQS": {"ApproximateNumberOfMessagesVisible": ("QueueName",)},
    "AWS/ApiGateway": {m: ("ApiName", "Stage") for m in ("Count", "4XXError", "5XXError", "Latency")},
}
# Which resource of the template each AWS dimension must name.
DIMENSION_TARGETS = {
    "StateMachineArn": {"${RolloutStateMachine}"},
    "QueueName": {
        "${RuleRequestedDeadLetterQueue.QueueName}",
        "${RecoveryDeadLetterQueue.QueueName}",
        "${SweepDeadLetterQueue.QueueName}",
    },
    "ApiName": {"${AWS::StackName}"},
    "Stage": {"v1"},
}


@dataclass(frozen=True)
class Watch:
    """What a single-metric alarm watches and when it fires (>= threshold in one 5-minute period)."""

    namespace: str
    metric: str
    dimensions: dict[str, Any]
    statistic: str
    threshold: Any = 1
    comparison: str = "GreaterThanOrEqualToThreshold"


SINGLE_METRIC_ALARMS = {
    "ExecutionsFailedAlarm": Watch(
        "AWS/States", "ExecutionsFailed", {"StateMachineArn": {"Ref": "RolloutStateMachine"}}, "Sum"
    ),
    "ExecutionsTimedOutAlarm": Watch(
        "AWS/States", "ExecutionsTimedOut", {"StateMachineArn": {"Ref": "RolloutStateMachine"}}, "Sum"
    ),
    "ExecutionsAbortedAlarm": Watch(
        "AWS/States", "ExecutionsAborted", {"StateMachineArn": {"Ref": "RolloutStateMachine"}}, "Sum"
    ),
    "DeadLetterQueueAlarm": Watch(
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": {"Fn::GetAtt": ["RuleRequestedDeadLetterQueue", "QueueName"]}},
        "Maximum",
    ),
    "RecoveryDeadLettersAlarm": Watch(
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": {"Fn::GetAtt": ["RecoveryDeadLetterQueue", "QueueName"]}},
        "Maximum",
    ),
    "SweepDeadLettersAlarm": Watch(
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": {"Fn::GetAtt": ["SweepDeadLetterQueue", "QueueName"]}},
        "Maximum",
    ),
    "RolloutsRolledBackAlarm": Watch(NAMESPACE, "RolloutsRolledBack", SERVICE, "Sum"),
    "DriftFoundAlarm": Watch(NAMESPACE, "DriftFindings", SERVICE, "Sum"),
    "UnhealthyRuleAlarm": Watch(NAMESPACE, "UnhealthyTargets", SERVICE, "Maximum"),
    "CredentialExpiringAlarm": Watch(
        NAMESPACE,
        "DaysToCredentialExpiry",
        SERVICE,
        "Minimum",
        {"Ref": "CredentialExpiryWarningDays"},
        "LessThanOrEqualToThreshold",
    ),
}
REGION_STEPS = {
    "SnapshotRegion",
    "StoreSecret",
    "CreateRule",
    "ValidateRule",
    "ApplyTemplate",
    "SmokePull",
    "RemoveRule",
}
# Metric-math alarms over the Distributed Maps' child executions (their metrics carry the Map Run's label).
MAP_RUN_ALARMS = {"ChildExecutionsFailedAlarm"}
CHILD_ENDINGS = {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
# Metric-math alarms: a Lambda metric summed over functions.
FUNCTION_ALARMS = {
    "RegionStepErrorsAlarm": "Errors",
    "ControlFunctionErrorsAlarm": "Errors",
    "StepThrottlesAlarm": "Throttles",
    "FinishThrottlesAlarm": "Throttles",
}


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def alarm(template: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(resources_of(template, ALARM)[name]["Properties"])


def functions(template: dict[str, Any]) -> set[str]:
    return set(resources_of(template, "AWS::Serverless::Function"))


def state_machine_functions(template: dict[str, Any]) -> set[str]:
    """The functions the rollout state machine invokes (its DefinitionSubstitutions)."""
    (machine,) = resources_of(template, "AWS::Serverless::StateMachine").values()
    named = {invoked_function(value) for value in machine["Properties"]["DefinitionSubstitutions"].values()}
    return {name for name in named if name in functions(template)}


def summed_functions(properties: dict[str, Any], metric: str) -> set[str]:
    """The functions whose ``metric`` a math alarm sums; asserts the sum is the one expression it returns."""
    (returned,) = [m for m in properties["Metrics"] if m.get("ReturnData", True)]
    assert returned["Expression"] == "SUM(FILL(METRICS(), 0))"  # a function without data counts as 0, not missing
    summed = set()
    for query in properties["Metrics"]:
        if query is returned:
            continue
        stat = query["MetricStat"]
        assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]) == ("AWS/Lambda", metric)
        assert (stat["Period"], stat["Stat"]) == (300, "Sum")
        (dimension,) = stat["Metric"]["Dimensions"]
        assert dimension["Name"] == "FunctionName"
        summed.add(dimension["Value"]["Ref"])
    return summed


# ---------------------------------------------------------------------------------------------------------------
# Alarms


def test_the_alarms_are_the_ones_the_readme_explains(template: dict[str, Any]) -> None:
    assert set(resources_of(template, ALARM)) == set(SINGLE_METRIC_ALARMS) | set(FUNCTION_ALARMS) | MAP_RUN_ALARMS


def distributed_map_labels() -> set[str]:
    """The Label of every Distributed Map in the rollout state machine."""
    found: set[str] = set()

    def walk(states: dict[str, Any]) -> None:
        for state in states.values():
            processor = state.get("ItemProcessor") or {}
            if processor.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED":
                found.add(state["Label"])
            if processor:
                walk(processor["States"])

    walk(json.loads((ROOT / "statemachine" / "rollout.asl.json").read_text(encoding="utf-8"))["States"])
    return found


def test_child_executions_of_every_distributed_map_are_alarmed_when_they_fail_time_out_or_abort(
    template: dict[str, Any],
) -> None:
    """A Map Run's child executions publish under a labelled state machine ARN (<state machine ARN>/<Map Run label>,
    Step Functions developer guide, "Viewing a Distributed Map Run"): the parent's alarms never see them."""
    labels = distributed_map_labels()
    assert labels == {"RolloutAccounts", "RollbackAccounts"}
    properties = alarm(template, "ChildExecutionsFailedAlarm")
    (returned,) = [m for m in properties["Metrics"] if m.get("ReturnData", True)]
    assert returned["Expression"] == "SUM(FILL(METRICS(), 0))"
    watched = set()
    for query in properties["Metrics"]:
        if query is returned:
            continue
        metric = query["MetricStat"]["Metric"]
        assert metric["Namespace"] == "AWS/States" and metric["MetricName"] in CHILD_ENDINGS
        assert (query["MetricStat"]["Period"], query["MetricStat"]["Stat"]) == (300, "Sum")
        (dimension,) = metric["Dimensions"]
        assert dimension["Name"] == "StateMachineArn"
        watched.add((metric["MetricName"], dimension["Value"]["Fn::Sub"]))
    assert watched == {(m, "${RolloutStateMachine}/" + label) for m in CHILD_ENDINGS for label in labels}
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert (properties["EvaluationPeriods"], properties["DatapointsToAlarm"]) == (1, 1)


@pytest.mark.parametrize("name", sorted(SINGLE_METRIC_ALARMS))
def test_a_single_metric_alarm_watches_its_metric_with_its_threshold(template: dict[str, Any], name: str) -> None:
    expected, properties = SINGLE_METRIC_ALARMS[name], alarm(template, name)

    assert (properties["Namespace"], properties["MetricName"]) == (expected.namespace, expected.metric)
    assert {d["Name"]: d["Value"] for d in properties["Dimensions"]} == expected.dimensions
    assert (properties["Statistic"], properties["Period"]) == (expected.statistic, 300)
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (expected.threshold, expected.comparison)
    assert (properties["EvaluationPeriods"], properties["DatapointsToAlarm"]) == (1, 1)


@pytest.mark.parametrize("name", sorted(FUNCTION_ALARMS))
def test_a_function_alarm_sums_its_lambda_metric_over_its_functions(template: dict[str, Any], name: str) -> None:
    properties = alarm(template, name)

    assert summed_functions(properties, FUNCTION_ALARMS[name]) <= functions(template)
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert (properties["EvaluationPeriods"], properties["DatapointsToAlarm"]) == (1, 1)


def test_every_function_has_its_errors_watched_once_region_steps_apart(template: dict[str, Any]) -> None:
    steps = summed_functions(alarm(template, "RegionStepErrorsAlarm"), "Errors")
    control = summed_functions(alarm(template, "ControlFunctionErrorsAlarm"), "Errors")

    assert steps == {f"{step}Function" for step in REGION_STEPS}
    assert steps.isdisjoint(control)
    assert steps | control == functions(template)


def test_throttles_are_watched_on_every_function_the_state_machine_invokes(template: dict[str, Any]) -> None:
    steps = summed_functions(alarm(template, "StepThrottlesAlarm"), "Throttles")
    finishing = summed_functions(alarm(template, "FinishThrottlesAlarm"), "Throttles")

    assert steps | finishing == state_machine_functions(template)
    assert steps.isdisjoint(finishing)
    assert max(len(steps), len(finishing)) + 1 <= 10  # CloudWatch: at most 10 metrics (and expressions) an alarm


@pytest.mark.parametrize("name", sorted(set(SINGLE_METRIC_ALARMS) | set(FUNCTION_ALARMS) | MAP_RUN_ALARMS))
def test_every_alarm_notifies_the_alarm_topic_and_says_what_to_check_first(template: dict[str, Any], name: str) -> None:
    properties = alarm(template, name)

    assert properties["AlarmActions"] == [TOPIC_CHOICE]
    assert properties.get("OKActions", [TOPIC_CHOICE]) == [TOPIC_CHOICE]
    assert properties["TreatMissingData"] == "notBreaching"  # each watches counts that are absent when all is well
    description = properties["AlarmDescription"]
    assert 0 < len(description) <= 1024 and "First:" in description
    # The topic's key and policy admit this stack's alarms by name
    assert properties["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-")


def test_the_dead_letter_alarm_also_says_when_the_queue_is_empty_again(template: dict[str, Any]) -> None:
    assert alarm(template, "DeadLetterQueueAlarm")["OKActions"] == [TOPIC_CHOICE]


def test_alarms_on_pullthrough_metrics_use_a_dimension_set_the_app_writes(template: dict[str, Any]) -> None:
    for name, watch in SINGLE_METRIC_ALARMS.items():
        if watch.namespace == NAMESPACE:
            assert tuple(watch.dimensions) in CATALOG[watch.metric], name


# ---------------------------------------------------------------------------------------------------------------
# Where they go


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_alarms_of_this_stack_may_use(
    template: dict[str, Any],
) -> None:
    topic = template["Resources"]["AlarmTopic"]
    key = template["Resources"]["AlarmTopicKey"]

    # alias/aws/sns would not do: CloudWatch cannot use the AWS-managed key, so every notification would fail
    assert topic["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    assert key["Properties"]["EnableKeyRotation"] is True
    (grant,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Principal"].get("Service")]
    assert grant["Principal"]["Service"] == "cloudwatch.amazonaws.com"
    assert sorted(grant["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert grant["Condition"]["ArnLike"]["aws:SourceArn"] == {"Fn::Sub": THIS_STACKS_ALARMS}
    policy = template["Resources"]["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (publish,) = [s for s in policy if s["Effect"] == "Allow"]
    assert (publish["Principal"], publish["Action"]) == ({"Service": "cloudwatch.amazonaws.com"}, "sns:Publish")
    assert publish["Condition"]["ArnLike"]["aws:SourceArn"] == {"Fn::Sub": THIS_STACKS_ALARMS}
    assert {topic.get("Condition"), key.get("Condition")} == {"CreateAlarmTopic"}


def test_the_topic_is_made_only_without_alarm_topic_arn_and_mailed_only_when_alarm_email_is_given(
    template: dict[str, Any],
) -> None:
    conditions = template["Conditions"]
    subscription = template["Resources"]["AlarmEmailSubscription"]

    assert conditions["CreateAlarmTopic"] == {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}
    assert conditions["SubscribeAlarmEmail"] == {
        "Fn::And": [{"Condition": "CreateAlarmTopic"}, {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}]
    }
    assert subscription["Condition"] == "SubscribeAlarmEmail"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }
    for parameter in ("AlarmEmail", "AlarmTopicArn"):
        assert template["Parameters"][parameter]["Default"] == ""
    # Both at once is refused at deploy time rather than leaving the address unsubscribed
    (assertion,) = template["Rules"]["AlarmEmailNeedsTheStacksTopic"]["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("arn:aws:sns:eu-west-1:123456789012:chatops-alerts", True),
        ("arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts_1", True),
        ("arn:aws:sns:eu-west-1:123456789012:alerts.fifo", False),  # alarms cannot publish to FIFO topics
        ("arn:aws:sqs:eu-west-1:123456789012:alerts", False),
        ("alerts", False),
    ],
)
def test_alarm_topic_arn_accepts_a_standard_topic_arn_or_nothing(
    template: dict[str, Any], value: str, accepted: bool
) -> None:
    assert bool(re.fullmatch(template["Parameters"]["AlarmTopicArn"]["AllowedPattern"], value)) is accepted


# ---------------------------------------------------------------------------------------------------------------
# The dashboard


@dataclass(frozen=True)
class Shown:
    """One metric a dashboard widget shows: namespace, name, dimension names and values (SEARCH: names only)."""

    widget: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str | None], ...]


SEARCH = re.compile(r"SEARCH\('\{([^}]*)\} MetricName=\"([^\"]+)\"', '[A-Za-z0-9.]+', \d+\)")


def dashboard(template: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The dashboard body as JSON, each ${...} of its Fn::Sub kept as text; and those references."""
    (board,) = resources_of(template, "AWS::CloudWatch::Dashboard").values()
    body = board["Properties"]["DashboardBody"]["Fn::Sub"]
    references = set(re.findall(r"\$\{([^}]+)\}", body))
    return json.loads(body), references


def shown_metrics(body: dict[str, Any]) -> list[Shown]:
    shown = []
    for widget in body["widgets"]:
        properties = widget["properties"]
        for entry in properties.get("metrics", []):
            if isinstance(entry[0], dict):
                found = SEARCH.fullmatch(entry[0]["expression"])
                assert found, entry[0]["expression"]
                namespace, *names = found.group(1).split(",")
                shown.append(Shown(properties["title"], namespace, found.group(2), tuple((n, None) for n in names)))
                continue
            namespace, metric, *rest = [part for part in entry if not isinstance(part, dict)]
            assert "." not in (namespace, metric), "write each metric out in full"
            pairs = tuple(zip(rest[::2], rest[1::2], strict=True))
            shown.append(Shown(properties["title"], namespace, metric, pairs))
    return shown


def test_the_dashboard_shows_only_metrics_the_app_writes_or_aws_publishes(template: dict[str, Any]) -> None:
    body, _ = dashboard(template)

    for shown in shown_metrics(body):
        names = tuple(name for name, _ in shown.dimensions)
        if shown.namespace == NAMESPACE:
            assert names in CATALOG.get(shown.metric, ()), shown
            assert all(value in (None, "pullthrough") for name, value in shown.dimensions if name == "service")
        else:
            assert AWS_PUBLISHED.get(shown.namespace, {}).get(shown.metric) == names, shown


def test_the_dashboards_aws_metrics_name_resources_of_this_template(template: dict[str, Any]) -> None:
    body, references = dashboard(template)
    resource_names = set(template["Resources"])

    for shown in shown_metrics(body):
        for name, value in shown.dimensions:
            if name == "FunctionName":
                assert value is not None and value[2:-1] in functions(template), shown
            elif name in DIMENSION_TARGETS:
                assert value in DIMENSION_TARGETS[name], shown
    assert all(ref.split(".")[0] in resource_names or ref.startswith("AWS::") for ref in references)
    # SAM would name the REST API after the stack anyway; the template says so, and the stage is the API's
    api = template["Resources"]["RulesApi"]["Properties"]
    assert (api["Name"], api["StageName"]) == ({"Ref": "AWS::StackName"}, "v1")


def test_the_dashboard_shows_what_the_readme_describes(template: dict[str, Any]) -> None:
    body, _ = dashboard(template)
    shown = shown_metrics(body)

    def functions_in(title: str, metric: str) -> set[str]:
        return {
            str(value)[2:-1]
            for s in shown
            if s.widget == title and s.metric == metric
            for name, value in s.dimensions
            if name == "FunctionName"
        }

    assert {s.metric for s in shown if s.widget == "Rollouts by outcome"} == {
        "RolloutsStarted",
        "RolloutsSucceeded",
        "RolloutsFailed",
        "RolloutsRolledBack",
        "RolloutsPlanned",
    }
    durations = [w for w in body["widgets"] if w["properties"].get("title", "").startswith("Rollout duration")]
    (duration,) = durations
    assert [m[-1]["stat"] for m in duration["properties"]["metrics"]] == ["p50", "p90", "Maximum"]
    by_title = {s.widget: s for s in shown if s.namespace == NAMESPACE and s.dimensions[1:]}
    assert by_title["Region failures by step and error"].dimensions == (
        ("service", None),
        ("step", None),
        ("error", None),
    )
    assert by_title["Validation failures by upstream registry"].metric == "ValidationFailures"
    assert by_title["Drift findings by resource and kind"].metric == "DriftFindings"
    assert {s.metric for s in shown if s.widget == "State machine executions"} == {
        m for m in AWS_PUBLISHED["AWS/States"] if m != "ExecutionTime"
    }
    for title, metric in (
        ("Lambda errors per function", "Errors"),
        ("Lambda throttles per function", "Throttles"),
        ("Lambda duration per function, p90 (ms)", "Duration"),
    ):
        assert functions_in(title, metric) == functions(template), title
    (alarms,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert {arn[2:-1].removesuffix(".Arn") for arn in alarms["properties"]["alarms"]} == set(
        resources_of(template, ALARM)
    )


# ---------------------------------------------------------------------------------------------------------------
# API access logs, metric namespace


def test_the_api_writes_json_access_logs_with_caller_route_status_and_latency(template: dict[str, Any]) -> None:
    setting = template["Resources"]["RulesApi"]["Properties"]["AccessLogSetting"]
    condition, on, off = setting["Fn::If"]
    log_group = template["Resources"]["ApiAccessLogGroup"]

    assert (condition, off) == ("ApiAccessLogsOn", {"Ref": "AWS::NoValue"})
    assert on["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(on["Format"])
    assert {
        "requestId": fields["requestId"],
        "caller": fields["caller"],
        "route": fields["route"],
        "status": fields["status"],
        "latencyMs": fields["latencyMs"],
    } == {
        "requestId": "$context.requestId",
        "caller": "$context.identity.userArn",
        "route": "$context.httpMethod $context.resourcePath",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
    }
    # $context only: nothing a caller sent in a body, header or query string (credentials travel in the body)
    assert all(re.fullmatch(r"(\$context\.[A-Za-z.]+ ?)+", value) for value in fields.values()), fields
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert log_group["Condition"] == "ApiAccessLogsOn"


def test_the_functions_metric_namespace_is_the_apps(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert (variables["POWERTOOLS_METRICS_NAMESPACE"], variables["POWERTOOLS_SERVICE_NAME"]) == (
        NAMESPACE,
        "pullthrough",
    )


# ---------------------------------------------------------------------------------------------------------------
# Cold start: the region steps never load the metrics code

CLOSING_FUNCTIONS = {"FinishRolloutFunction", "RecoverRolloutFunction"}  # invoked by the state machine, and count


def metrics_loaded_after_each(template: dict[str, Any], functions_in_order: list[str]) -> dict[str, bool]:
    """Import each function's handler in turn in one fresh interpreter (layer on sys.path, as on Lambda); whether
    ``pullthrough.metrics`` was loaded after each."""
    code_dirs = [str(ROOT / template["Resources"][f]["Properties"]["CodeUri"]) for f in functions_in_order]
    script = (
        "import importlib.util, json, sys\n"
        f"sys.path[:0] = [{str(ROOT / 'layers' / 'common')!r}]\n"
        "loaded = []\n"
        f"for n, code_dir in enumerate({code_dirs!r}):\n"
        "    spec = importlib.util.spec_from_file_location(f'app{n}', code_dir + '/app.py')\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        "    sys.modules[spec.name] = module\n"
        "    spec.loader.exec_module(module)\n"
        "    loaded.append('pullthrough.metrics' in sys.modules)\n"
        "print(json.dumps(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-P", "-c", script], capture_output=True, text=True, timeout=60, check=True)
    return dict(zip(functions_in_order, json.loads(done.stdout.splitlines()[-1]), strict=True))


def test_no_region_step_imports_the_metrics_code_and_the_closing_steps_do(template: dict[str, Any]) -> None:
    steps = state_machine_functions(template)
    region_steps = sorted(steps - CLOSING_FUNCTIONS)
    assert steps >= CLOSING_FUNCTIONS

    loaded = metrics_loaded_after_each(template, [*region_steps, *sorted(CLOSING_FUNCTIONS)])

    # Modules accumulate: none loaded it until the first closing function
    assert [loaded[f] for f in region_steps] == [False] * len(region_steps)
    assert all(loaded[f] for f in CLOSING_FUNCTIONS)
