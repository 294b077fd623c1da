// Runs a state machine definition on aws-local-stepfunctions, an engine independent of moto/LocalStack, with every
// Task resource mocked by a scenario. Used by tests/contract/test_asl_second_engine.py.
//
//   node tests/asl_engine/run.mjs SCENARIO.json     (or the scenario on stdin)
//
// Scenario (JSON):
//   definition     path of the *.asl.json (relative to the current directory)
//   substitutions  {"Name": "value"} for ${Name}; a ${Name} without a value is an error
//   input          the execution input
//   context        optional Context Object fields (Execution.Id/Name, StateMachine...)
//   tables         {"TableName": [item, ...]} in DynamoDB JSON: what the dynamodb:* integrations read and write
//   mocks          {"<resource>": {"outcomes": [outcome...], "cases": [{"match": "text", "outcomes": [...]}]}}
//                  <resource> is a Task's Resource after substitution, or for arn:...:states:::lambda:invoke the
//                  FunctionName it calls. A call uses the first case whose `match` equals a property value (at any
//                  depth, not an array element) of the task's input, else `outcomes`. Each call takes the next
//                  outcome of its list; the last one repeats.
//                  outcome: {"return": value} | {"throw": "ErrorName", "cause": "text"} | {"apply": true}
//                  ("apply": run the DynamoDB call on `tables`; the default for dynamodb:*; Lambda default: {}).
//                  {"finish": true} decides as FinishRollout does (rollback past the tolerance; across accounts, from
//                  the account items); {"gate": true} refuses past the tolerance as SnapshotRegion does.
// A Distributed Map (ProcessorConfig Mode DISTRIBUTED) runs here as an inline Map: this engine ignores
// ProcessorConfig, ToleratedFailure* and Label, so its iterations are not child executions with their own context.
// Retry intervals and Wait states are zeroed, so retries run at once.
//
// Prints {"status": "SUCCEEDED"|"FAILED", "error", "cause", "output", "states": [{"name", "index"}],
// "failures": [{"state", "index", "error", "cause"}], "calls": {"<resource>": [{"state", "input", "error"}]},
// "tables"}. Exit 0 when the execution ran (whatever its status); 2 when the scenario or definition is unusable
// (a resource without a mock, an UpdateExpression this mock does not understand, ...).
import { readFileSync } from 'node:fs';

// aws-local-stepfunctions 3.x calls Promise.withResolvers (Node >= 22); Node 20 lacks it.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
const { StateMachine } = await import('aws-local-stepfunctions');

class HarnessError extends Error {}

function fail(message) {
  process.stderr.write(`asl-engine runner: ${message}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------------------------
// Definition: substitutions, and every Task and retrying state at any depth

function substitute(text, values) {
  const missing = new Set();
  const out = text.replace(/\$\{([A-Za-z0-9_.:-]+)\}/g, (whole, name) => {
    if (!(name in values)) missing.add(name);
    return values[name] ?? whole;
  });
  if (missing.size) fail(`the definition uses ${[...missing].map((n) => '${' + n + '}').join(', ')} without a value`);
  return out;
}

function* statesOf(machine) {
  for (const [name, state] of Object.entries(machine.States ?? {})) {
    yield [name, state];
    for (const nested of [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]) {
      if (nested) yield* statesOf(nested);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A small DynamoDB: items in DynamoDB JSON, the update/condition expressions a state machine writes

function dynamoError(name, message) {
  const error = new Error(message);
  error.name = `DynamoDB.${name}`;
  return error;
}

function tokenize(expression) {
  const tokens = [];
  const re = /\s*(?:(#[A-Za-z0-9_]+|:[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*)|(\[\d+\])|(<>|<=|>=|[=<>+\-,().]))/y;
  let match;
  re.lastIndex = 0;
  while (re.lastIndex < expression.length) {
    if (/^\s*$/.test(expression.slice(re.lastIndex))) break;
    const start = re.lastIndex;
    match = re.exec(expression);
    if (!match) throw new HarnessError(`cannot read expression ${JSON.stringify(expression)} at ${start}`);
    tokens.push(match[1] ?? match[2] ?? match[3]);
  }
  return tokens;
}

class ExpressionReader {
  constructor(expression, names = {}, values = {}) {
    this.expression = expression;
    this.tokens = tokenize(expression);
    this.at = 0;
    this.names = names;
    this.values = values;
  }

  peek() {
    return this.tokens[this.at];
  }

  next() {
    return this.tokens[this.at++];
  }

  expect(token) {
    const got = this.next();
    if (got !== token) throw new HarnessError(`expected ${token} in ${JSON.stringify(this.expression)}, got ${got}`);
  }

  done() {
    return this.at >= this.tokens.length;
  }

  name(token) {
    if (!token.startsWith('#')) return token;
    if (!(token in this.names)) throw dynamoError('AmazonDynamoDBException', `${token} is not in ExpressionAttributeNames`);
    return this.names[token];
  }

  path() {
    const parts = [this.name(this.next())];
    for (;;) {
      if (this.peek() === '.') {
        this.next();
        parts.push(this.name(this.next()));
      } else if (/^\[\d+\]$/.test(this.peek() ?? '')) {
        parts.push(Number(this.next().slice(1, -1)));
      } else {
        return parts;
      }
    }
  }

  value(token) {
    if (!(token in this.values)) throw dynamoError('AmazonDynamoDBException', `${token} is not in ExpressionAttributeValues`);
    return structuredClone(this.values[token]);
  }

  // operand := :value | path | if_not_exists(path, operand) | list_append(operand, operand)
  operand(item) {
    const token = this.peek();
    if (token.startsWith(':')) return this.value(this.next());
    const lower = token.toLowerCase();
    if (lower === 'if_not_exists' || lower === 'list_append') {
      this.next();
      this.expect('(');
      const first = lower === 'if_not_exists' ? { path: this.path() } : { value: this.operand(item) };
      this.expect(',');
      const second = this.operand(item);
      this.expect(')');
      if (first.path) return getPath(item, first.path) ?? second;
      return { L: [...(first.value?.L ?? []), ...(second?.L ?? [])] };
    }
    const path = this.path();
    const found = getPath(item, path);
    if (found === undefined) {
      throw dynamoError('AmazonDynamoDBException', 'The provided expression refers to an attribute that does not exist in the item');
    }
    return found;
  }
}

function getPath(item, path) {
  let node = { M: item };
  for (const part of path) {
    if (typeof part === 'number') node = node?.L?.[part];
    else node = node?.M?.[part];
    if (node === undefined) return undefined;
  }
  return node;
}

function setPath(item, path, value) {
  const parent = path.length === 1 ? { M: item } : getPath(item, path.slice(0, -1));
  const last = path[path.length - 1];
  const container = typeof last === 'number' ? parent?.L : parent?.M;
  if (!container) {
    throw dynamoError('AmazonDynamoDBException', 'The document path provided in the update expression is invalid for update');
  }
  container[last] = value;
}

function removePath(item, path) {
  const parent = path.length === 1 ? { M: item } : getPath(item, path.slice(0, -1));
  const last = path[path.length - 1];
  if (typeof last === 'number') parent?.L?.splice(last, 1);
  else if (parent?.M) delete parent.M[last];
}

function numeric(value, what) {
  if (value?.N === undefined) throw dynamoError('AmazonDynamoDBException', `An operand in the ${what} is not a number`);
  return Number(value.N);
}

function applyUpdate(item, expression, names, values) {
  const reader = new ExpressionReader(expression, names, values);
  while (!reader.done()) {
    const clause = reader.next().toUpperCase();
    do {
      if (clause === 'SET') {
        const path = reader.path();
        reader.expect('=');
        let value = reader.operand(item);
        if (reader.peek() === '+' || reader.peek() === '-') {
          const sign = reader.next() === '+' ? 1 : -1;
          const right = reader.operand(item);
          value = { N: String(numeric(value, 'SET') + sign * numeric(right, 'SET')) };
        }
        setPath(item, path, value);
      } else if (clause === 'REMOVE') {
        removePath(item, reader.path());
      } else if (clause === 'ADD') {
        const path = reader.path();
        const value = reader.value(reader.next());
        const current = getPath(item, path);
        if (value.N !== undefined) {
          setPath(item, path, { N: String((current ? numeric(current, 'ADD') : 0) + Number(value.N)) });
        } else if (value.SS || value.NS) {
          const kind = value.SS ? 'SS' : 'NS';
          setPath(item, path, { [kind]: [...new Set([...(current?.[kind] ?? []), ...value[kind]])] });
        } else {
          throw dynamoError('AmazonDynamoDBException', 'ADD takes a number or a set');
        }
      } else {
        throw new HarnessError(`update clause ${clause} is not supported by the mock`);
      }
    } while (reader.peek() === ',' && reader.next());
  }
}

// condition := term (AND term)* ; term := attribute_exists(path) | attribute_not_exists(path) | operand op operand
function conditionHolds(item, expression, names, values) {
  const reader = new ExpressionReader(expression, names, values);
  let holds = true;
  do {
    const token = reader.peek().toLowerCase();
    if (token === 'attribute_exists' || token === 'attribute_not_exists') {
      reader.next();
      reader.expect('(');
      const exists = getPath(item, reader.path()) !== undefined;
      reader.expect(')');
      holds &&= token === 'attribute_exists' ? exists : !exists;
    } else {
      const read = () => {
        try {
          return reader.operand(item);
        } catch (error) {
          if (error instanceof HarnessError) throw error;
          return undefined; // a missing attribute compares false
        }
      };
      const left = read();
      const op = reader.next();
      const right = read();
      const equal = JSON.stringify(left) === JSON.stringify(right);
      const order = () => {
        const [a, b] = [left?.N ?? left?.S, right?.N ?? right?.S];
        return left?.N !== undefined ? Number(a) - Number(b) : String(a).localeCompare(String(b));
      };
      const results = { '=': () => equal, '<>': () => !equal, '<': () => order() < 0, '<=': () => order() <= 0, '>': () => order() > 0, '>=': () => order() >= 0 };
      if (!(op in results)) throw new HarnessError(`condition operator ${op} is not supported by the mock`);
      holds &&= left !== undefined && right !== undefined && results[op]();
    }
  } while (reader.peek()?.toUpperCase() === 'AND' && reader.next());
  if (!reader.done()) throw new HarnessError(`condition ${JSON.stringify(expression)} is not supported by the mock`);
  return holds;
}

function sameKey(item, key) {
  return Object.entries(key).every(([name, value]) => JSON.stringify(item[name]) === JSON.stringify(value));
}

function project(item, projection, names) {
  if (!projection) return item;
  const picked = {};
  for (const path of projection.split(',')) {
    const top = path.trim().split(/[.[]/)[0];
    const name = top.startsWith('#') ? names?.[top] : top;
    if (name in item) picked[name] = item[name];
  }
  return picked;
}

function dynamodb(tables, action, params) {
  const table = (tables[params.TableName] ??= []);
  const index = params.Key ? table.findIndex((item) => sameKey(item, params.Key)) : -1;
  const found = index >= 0 ? table[index] : undefined;
  const names = params.ExpressionAttributeNames ?? {};
  const values = params.ExpressionAttributeValues ?? {};
  const checkCondition = (item) => {
    if (params.ConditionExpression && !conditionHolds(item ?? {}, params.ConditionExpression, names, values)) {
      throw dynamoError('ConditionalCheckFailedException', 'The conditional request failed');
    }
  };
  switch (action) {
    case 'getItem':
      return found ? { Item: structuredClone(project(found, params.ProjectionExpression, names)) } : {};
    case 'putItem':
      checkCondition(found);
      if (index >= 0) table.splice(index, 1);
      table.push(structuredClone(params.Item));
      return {};
    case 'deleteItem':
      checkCondition(found);
      if (index >= 0) table.splice(index, 1);
      return {};
    case 'updateItem': {
      checkCondition(found);
      const item = structuredClone(found ?? params.Key);
      if (params.UpdateExpression) applyUpdate(item, params.UpdateExpression, names, values);
      if (index >= 0) table[index] = item;
      else table.push(item);
      return params.ReturnValues === 'ALL_NEW' ? { Attributes: structuredClone(item) } : {};
    }
    default:
      throw new HarnessError(`dynamodb:${action} is not supported by the mock`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Mocks: which outcome a call gets, and the record of every call

function hasPropertyValue(value, text) {
  if (Array.isArray(value)) return value.some((v) => v !== null && typeof v === 'object' && hasPropertyValue(v, text));
  if (value === null || typeof value !== 'object') return false;
  return Object.values(value).some((v) => v === text || hasPropertyValue(v, text));
}

function makeMocks(scenario) {
  const tables = structuredClone(scenario.tables ?? {});
  const mocks = scenario.mocks ?? {};
  const used = new Map(); // outcome list -> calls so far
  const calls = {};
  const problems = [];

  function outcomeFor(resource, input) {
    const mock = mocks[resource];
    if (!mock) return null;
    const chosen = (mock.cases ?? []).find((c) => hasPropertyValue(input, c.match))?.outcomes ?? mock.outcomes;
    if (!chosen?.length) return null;
    const n = used.get(chosen) ?? 0;
    used.set(chosen, n + 1);
    return chosen[Math.min(n, chosen.length - 1)];
  }

  function throwOutcome(outcome, lambdaStyle) {
    const error = new Error(
      outcome.cause ??
        (lambdaStyle
          ? JSON.stringify({ errorType: outcome.throw, errorMessage: `mocked ${outcome.throw}`, stackTrace: [] })
          : `mocked ${outcome.throw}`),
    );
    error.name = outcome.throw;
    throw error;
  }

  function handlerFor(stateName, resource) {
    const dynamo = resource.match(/^arn:[^:]+:states:::dynamodb:(\w+)$/);
    const invoke = /^arn:[^:]+:states:::lambda:invoke$/.test(resource);
    const events = /^arn:[^:]+:states:::events:putEvents$/.test(resource);
    const lambda = /^arn:[^:]+:lambda:/.test(resource);
    return async (input) => {
      const key = invoke ? input.FunctionName : resource;
      const payload = invoke ? input.Payload : input;
      const record = { state: stateName, input: structuredClone(payload ?? null), error: null };
      (calls[key] ??= []).push(record);
      try {
        const outcome = outcomeFor(key, payload) ?? (dynamo ? { apply: true } : null);
        if (outcome?.throw) {
          record.error = outcome.throw;
          throwOutcome(outcome, !dynamo);
        }
        let result;
        if (outcome?.finish) {
          // FinishRollout's decision: past the tolerance (and not yet rolled back) it answers rollback=true. Across
          // accounts the results are in the account items (ROLLOUT#<id> / ACCOUNT#<account>), where a target still
          // PENDING (its record lost) counts as failed, as Rollouts.finish counts it.
          const accountItems = (Object.values(tables)[0] ?? []).filter(
            (i) => i.pk?.S === `ROLLOUT#${payload.rolloutId}` && i.sk?.S?.startsWith('ACCOUNT#'),
          );
          const statuses = accountItems.length
            ? accountItems.flatMap((i) => Object.values(i.regions?.M ?? {}).map((e) => e.M?.status?.S ?? 'PENDING'))
            : (payload.regionResults ?? []).map((r) => r.status);
          const counted = accountItems.length ? ['FAILED', 'ROLLBACK_FAILED', 'PENDING'] : ['FAILED', 'ROLLBACK_FAILED'];
          const failed = statuses.filter((status) => counted.includes(status));
          result = { rollback: !payload.afterRollback && failed.length > (payload.failureTolerance ?? 0) };
        } else if (outcome?.gate) {
          // SnapshotRegion's gate: the rollout record's failedCount against the tolerance (not read when every
          // target starts at once: checkTolerance false).
          const table = Object.values(tables)[0] ?? [];
          const item = table.find((i) => i.pk?.S === `ROLLOUT#${payload.rolloutId}` && i.sk?.S === 'ROLLOUT');
          const failed = Number(item?.failedCount?.N ?? 0);
          if (payload.checkTolerance !== false && failed > (payload.failureTolerance ?? 0)) {
            record.error = 'PastFailureTolerance';
            throwOutcome({ throw: 'PastFailureTolerance' }, true);
          }
          result = { recorded: true };
        } else if (outcome?.apply) {
          if (!dynamo) throw new HarnessError(`${key}: "apply" is only for dynamodb:* resources`);
          result = dynamodb(tables, dynamo[1], payload);
        } else if (outcome && 'return' in outcome) {
          result = structuredClone(outcome.return);
        } else if (lambda || invoke) {
          result = {};
        } else if (events) {
          result = { Entries: (payload.Entries ?? []).map((_, i) => ({ EventId: `event-${i}` })), FailedEntryCount: 0 };
        } else {
          throw new HarnessError(`no mock for resource ${resource} (state ${stateName})`);
        }
        return invoke ? { Payload: result, StatusCode: 200, ExecutedVersion: '$LATEST' } : result;
      } catch (error) {
        if (error instanceof HarnessError) problems.push(error.message);
        else record.error ??= error.name;
        throw error;
      }
    };
  }

  return { tables, calls, problems, handlerFor };
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const source = process.argv[2] ? readFileSync(process.argv[2], 'utf8') : readFileSync(0, 'utf8');
  const scenario = JSON.parse(source);
  if (!scenario.definition) fail('the scenario names no definition');
  const definition = JSON.parse(substitute(readFileSync(scenario.definition, 'utf8'), scenario.substitutions ?? {}));

  const mocks = makeMocks(scenario);
  const overrides = { taskResourceLocalHandlers: {}, waitTimeOverrides: {}, retryIntervalOverrides: {} };
  const resources = {};
  for (const [name, state] of statesOf(definition)) {
    if (name in resources) fail(`state name ${name} is used twice`);
    resources[name] = state.Resource ?? null;
    if (state.Type === 'Task') overrides.taskResourceLocalHandlers[name] = mocks.handlerFor(name, state.Resource);
    if (state.Type === 'Wait') overrides.waitTimeOverrides[name] = 0;
    if (state.Retry) overrides.retryIntervalOverrides[name] = 0;
  }

  const name = scenario.context?.Execution?.Name ?? 'asl-engine-test';
  const context = {
    Execution: { Id: `arn:aws:states:us-east-1:123456789012:execution:Rollout:${name}`, Name: name, ...scenario.context?.Execution },
    StateMachine: { Id: 'arn:aws:states:us-east-1:123456789012:stateMachine:Rollout', Name: 'Rollout', ...scenario.context?.StateMachine },
  };
  const machine = new StateMachine(definition);
  const execution = machine.run(scenario.input ?? {}, { overrides, context });
  const events = [];
  const logged = (async () => {
    for await (const event of execution.eventLogs) events.push(event);
  })();

  const report = { status: 'SUCCEEDED', error: null, cause: null, output: null };
  try {
    report.output = await execution.result;
  } catch (error) {
    const cause = error.cause ?? error;
    Object.assign(report, { status: 'FAILED', error: cause.name, cause: cause.message });
  }
  await logged;
  if (mocks.problems.length) fail(mocks.problems.join('; '));

  const where = (event) => ({ index: event.index ?? null });
  report.states = events.filter((e) => e.type === 'StateEntered').map((e) => ({ name: e.state.name, ...where(e) }));
  report.failures = events
    .filter((e) => e.type === 'StateFailed')
    .map((e) => ({ state: e.state.name, ...where(e), error: e.Error, cause: String(e.Cause?.message ?? e.Cause ?? '') }));
  report.calls = mocks.calls;
  report.tables = mocks.tables;
  process.stdout.write(JSON.stringify(report) + '\n');
}

main().catch((error) => fail(error?.stack ?? String(error)));
