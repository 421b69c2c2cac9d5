// sfn-runner executes a synthesized Step Functions definition with
// aws-local-stepfunctions, as AWS would, for mirrorflow's offline runs.
//
// It reads one execution request per line on stdin:
//   {"name": "...", "input": {...}}
// and writes one result per line on stdout:
//   {"name", "executionArn", "status": "SUCCEEDED"|"FAILED", "output", "error", "cause", "events": [...]}
//
// Task states whose resource is arn:aws:states:::lambda:invoke (or a plain
// function ARN) are sent to a server of the Lambda Invoke API (--lambda-endpoint);
// arn:aws:states:::sqs:sendMessage appends the message to --sqs-file as a JSON line;
// arn:aws:states:::states:startExecution.sync:2 runs an execution of a state
// machine given with --child ARN=definition-file in this engine, as a child,
// whose result is written as a line of its own, with "parent" naming the
// execution that started it, when it ends (a Reconcile of a thousand
// placements would not fit one line).
// Retry intervals may be shortened with --retry-interval-ms. Task states
// without TimeoutSeconds get AWS's default (see taskTimeoutDefaults); nothing
// else of the definition is changed. --print-definition writes the definition
// as it would be run to stdout and exits, so that change can be checked.
import './polyfill.mjs';
import { readFileSync, appendFileSync, writeFileSync, renameSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { randomUUID, createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

// The context object inside a Map iteration is the execution's: in AWS,
// $$.Execution.Input and $$.Execution.StartTime are the execution's input
// and start time in every state, the Map's iterator included (Step
// Functions Developer Guide, "Accessing execution data from the Context
// object in Step Functions"). aws-local-stepfunctions 3.0.0 runs each
// iteration as a nested state machine whose context sets Execution.Input to
// the iteration's item and StartTime to the iteration's start, so a
// dead-letter message sent from inside the Map would carry the interface's
// payload instead of the input that restarts the placement. The runner
// loads the engine with the execution's own Execution fields (which it
// passes in the run's context, below) taking precedence; the patch is
// checked, so a different engine version fails loudly instead of running
// unpatched.
const { StateMachine } = await (async () => {
  const engine = createRequire(import.meta.url).resolve('aws-local-stepfunctions').replace(/main\.node\.cjs$/, 'main.node.esm.js');
  const source = readFileSync(engine, 'utf8');
  const unpatched = `      Execution: {
        ...options.runOptions?.context?.Execution,
        Input: input,
        StartTime: (/* @__PURE__ */ new Date()).toISOString()
      }`;
  const patched = `      Execution: {
        Input: input,
        StartTime: (/* @__PURE__ */ new Date()).toISOString(),
        ...options.runOptions?.context?.Execution
      }`;
  if (source.split(unpatched).length !== 2) {
    throw new Error(`sfn-runner: ${engine} is not the aws-local-stepfunctions 3.0.0 this runner patches (its Execution context differs)`);
  }
  // Beside the original, so its own imports resolve; written under another
  // name and renamed, so runners starting together never read a half-written copy.
  const copy = join(dirname(engine), 'main.node.mirrorflow.mjs');
  writeFileSync(`${copy}.${process.pid}`, source.replace(unpatched, patched));
  renameSync(`${copy}.${process.pid}`, copy);
  return import(pathToFileURL(copy).href);
})();

const { values: args } = parseArgs({
  options: {
    definition: { type: 'string' },
    'lambda-endpoint': { type: 'string' },
    'sqs-file': { type: 'string' },
    'retry-interval-ms': { type: 'string', default: '' },
    'state-machine-arn': { type: 'string', default: 'arn:aws:states:us-east-1:123456789012:stateMachine:Mirrorflow' },
    'print-definition': { type: 'boolean', default: false },
    child: { type: 'string', multiple: true, default: [] },
  },
});
for (const required of args['print-definition'] ? ['definition'] : ['definition', 'lambda-endpoint', 'sqs-file']) {
  if (!args[required]) {
    process.stderr.write(`sfn-runner: --${required} is required\n`);
    process.exit(2);
  }
}

// awsTaskTimeoutSeconds is the TimeoutSeconds AWS gives a Task state that
// sets none: 99999999 seconds, in effect no limit (Step Functions Developer
// Guide, "Task workflow state", TimeoutSeconds; and "Using timeouts to avoid
// stuck Step Functions workflow executions": without one, a Task waits for
// its answer). aws-local-stepfunctions 3.0.0 uses 60 seconds instead, which
// fails with States.Timeout an invocation still being retried under load,
// where AWS would not.
const awsTaskTimeoutSeconds = 99999999;

// nodeMaxTimerSeconds is the longest wait the engine can arm: it passes
// TimeoutSeconds * 1000 to setTimeout, and Node fires a timer whose delay
// exceeds 2^31-1 ms after 1 ms instead (Node.js docs, "Timers: setTimeout").
// About 24.8 days, longer than any offline run.
const nodeMaxTimerSeconds = Math.floor((2 ** 31 - 1) / 1000);

// taskTimeoutDefaults gives every Task state without TimeoutSeconds or
// TimeoutSecondsPath AWS's default, as far as Node can wait, in states and in
// the states of its Parallel branches and Map iterators. An explicit timeout
// is kept as it is.
function taskTimeoutDefaults(states) {
  eachState(states, (_, state) => {
    if (state.Type === 'Task' && state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
      state.TimeoutSeconds = Math.min(awsTaskTimeoutSeconds, nodeMaxTimerSeconds);
    }
  });
}

function loadDefinition(path) {
  const definition = JSON.parse(readFileSync(path, 'utf8'));
  taskTimeoutDefaults(definition.States);
  return definition;
}
const definition = loadDefinition(args.definition);
if (args['print-definition']) {
  process.stdout.write(JSON.stringify(definition) + '\n');
  process.exit(0);
}
const lambdaEndpoint = args['lambda-endpoint'].replace(/\/$/, '');

// The Lambda service's own failures, as Step Functions names them for lambda:invoke tasks.
const lambdaServiceErrors = {
  429: 'Lambda.TooManyRequestsException',
  404: 'Lambda.ResourceNotFoundException',
};

async function invokeLambda(functionName, payload) {
  let resp;
  try {
    resp = await fetch(`${lambdaEndpoint}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload ?? {}),
    });
  } catch (err) {
    throw named('Lambda.SdkClientException', `Unable to reach the Lambda service: ${err.message}`);
  }
  const body = await resp.text();
  if (resp.status !== 200) {
    throw named(lambdaServiceErrors[resp.status] ?? 'Lambda.ServiceException', body);
  }
  if (resp.headers.get('x-amz-function-error')) {
    // Step Functions names the error by the function's errorType and keeps
    // the whole error document as the cause.
    let doc;
    try {
      doc = JSON.parse(body);
    } catch {
      doc = { errorType: 'Lambda.Unknown', errorMessage: body };
    }
    throw named(doc.errorType || 'Lambda.Unknown', body);
  }
  return body.length ? JSON.parse(body) : null;
}

function named(name, message) {
  const err = new Error(message);
  err.name = name;
  return err;
}

// eachState calls fn with every state of states and of its Parallel
// branches and Map iterators: aws-local-stepfunctions takes its overrides
// by state name for nested states too, and Step Functions keeps state names
// unique across a definition.
function eachState(states, fn) {
  for (const [name, state] of Object.entries(states ?? {})) {
    fn(name, state);
    for (const branch of state.Branches ?? []) eachState(branch.States, fn);
    eachState((state.ItemProcessor ?? state.Iterator)?.States, fn);
  }
}

// Local handlers for every Task state, by the service integration it names.
// parent names the execution whose startExecution.sync:2 states start children.
function localHandlers(states, parent) {
  const handlers = {};
  eachState(states, (name, state) => {
    if (state.Type !== 'Task') return;
    const resource = state.Resource;
    if (resource === 'arn:aws:states:::lambda:invoke') {
      handlers[name] = async (params) => {
        const payload = await invokeLambda(params.FunctionName, params.Payload);
        return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200, SdkHttpMetadata: { HttpStatusCode: 200 } };
      };
    } else if (/^arn:aws:lambda:[^:]+:\d+:function:/.test(resource)) {
      handlers[name] = async (input) => invokeLambda(resource, input);
    } else if (resource === 'arn:aws:states:::sqs:sendMessage') {
      handlers[name] = async (params) => {
        const body = typeof params.MessageBody === 'string' ? params.MessageBody : JSON.stringify(params.MessageBody);
        const messageId = randomUUID();
        appendFileSync(args['sqs-file'], JSON.stringify({ QueueUrl: params.QueueUrl, MessageId: messageId, Body: body }) + '\n');
        return { MessageId: messageId, MD5OfMessageBody: createHash('md5').update(body).digest('hex') };
      };
    } else if (resource === 'arn:aws:states:::states:startExecution.sync:2') {
      handlers[name] = async (params) => startChild(params, parent);
    } else {
      throw new Error(`sfn-runner: state ${name} uses ${resource}, which has no local handler`);
    }
  });
  return handlers;
}

function retryOverrides(states, ms) {
  if (ms === '') return {};
  const overrides = {};
  eachState(states, (name, state) => {
    if (state.Retry) overrides[name] = state.Retry.map(() => Number(ms));
  });
  return overrides;
}

// machines are the state machines this engine runs, by ARN: the one it was
// started for, and each --child.
const machines = new Map();
function addMachine(arn, def) {
  machines.set(arn, {
    arn, name: arn.split(':').pop(), definition: def, stateMachine: new StateMachine(def),
    retries: retryOverrides(def.States, args['retry-interval-ms']),
  });
}
addMachine(args['state-machine-arn'], definition);
for (const spec of args.child) {
  const at = spec.indexOf('=');
  if (at < 0) {
    process.stderr.write(`sfn-runner: --child ${spec}: want ARN=definition-file\n`);
    process.exit(2);
  }
  addMachine(spec.slice(0, at), loadDefinition(spec.slice(at + 1)));
}
const main = machines.get(args['state-machine-arn']);

// started remembers every child execution by state machine and name: Step
// Functions refuses a second StartExecution of a name already used, unless
// it has the same input and is still running, when it answers with the
// running execution (Step Functions API Reference, StartExecution: "If
// StartExecution is called with the same name and input as a running
// execution, the call succeeds and returns the same response as the
// original request. If the execution is closed or if the input is
// different, it returns a 400 ExecutionAlreadyExists error.").
const started = new Map();

// startChild runs one child execution for a startExecution.sync:2 state and
// answers as Step Functions does: a succeeded child's DescribeExecution
// fields, with Output as JSON (the :2 of .sync:2); any other end fails the
// state with States.TaskFailed and the DescribeExecution document as the
// cause (Step Functions Developer Guide, "Start a new AWS Step Functions
// state machine from a running execution", and "Run a Job (.sync)").
async function startChild(params, parent) {
  const machine = machines.get(params.StateMachineArn);
  if (!machine) {
    throw named('StepFunctions.StateMachineDoesNotExistException', `State Machine Does Not Exist: '${params.StateMachineArn}'`);
  }
  const input = typeof params.Input === 'string' ? JSON.parse(params.Input) : (params.Input ?? {});
  const name = params.Name || randomUUID();
  const key = `${machine.arn}/${name}`;
  const inputText = JSON.stringify(input);
  let run = started.get(key);
  if (run && (run.inputText !== inputText || run.done)) {
    throw named('StepFunctions.ExecutionAlreadyExistsException', `Execution Already Exists: '${executionArn(machine, name)}'`);
  }
  if (!run) {
    run = { inputText, done: false };
    run.result = execute(machine, { name, input }).then((r) => {
      run.done = true;
      process.stdout.write(JSON.stringify({ ...r, parent }) + '\n');
      // Written: the parent needs only how it ended, not its history.
      delete r.events;
      return r;
    });
    started.set(key, run);
  }
  const r = await run.result;
  const described = {
    ExecutionArn: r.executionArn, StateMachineArn: machine.arn, Name: name, Status: r.status,
    StartDate: r.startTime, StopDate: r.stopTime, Input: inputText,
  };
  if (r.status === 'SUCCEEDED') {
    return { ...described, Input: input, Output: r.output };
  }
  throw named('States.TaskFailed', JSON.stringify({ ...described, Error: r.error, Cause: r.cause }));
}

function executionArn(machine, name) {
  return machine.arn.replace(':stateMachine:', ':execution:') + `:${name}`;
}

async function execute(machine, request) {
  const name = request.name || randomUUID();
  const arn = executionArn(machine, name);
  const startTime = new Date().toISOString();
  const execution = machine.stateMachine.run(request.input, {
    overrides: { taskResourceLocalHandlers: localHandlers(machine.definition.States, name), retryIntervalOverrides: machine.retries },
    context: {
      Execution: { Id: arn, Input: request.input, Name: name, StartTime: startTime, RoleArn: 'arn:aws:iam::123456789012:role/Mirrorflow' },
      StateMachine: { Id: machine.arn, Name: machine.name },
    },
  });
  const events = [];
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      const e = { type: event.type, timestamp: new Date(event.timestamp).toISOString() };
      if (event.state) {
        e.state = event.state.name;
        e.stateType = event.state.type;
        // A Task's input says which source interface it places.
        if (event.type === 'StateEntered' && event.state.type === 'Task') e.input = event.state.input;
        // Tasks' outputs carry each step's report; the Map's, what became of
        // every interface; a Pass state's, a failed interface's error
        // (InterfaceFailed) and the execution's summary, as AWS's history has them.
        if (event.type === 'StateExited' && ['Task', 'Map', 'Pass'].includes(event.state.type)) e.output = event.state.output;
      }
      if (event.Error !== undefined) {
        e.error = event.Error;
        e.cause = event.Cause;
      }
      if (event.retry) e.attempt = event.retry.attempt;
      events.push(e);
    }
  })();
  const result = { name, executionArn: arn, startTime };
  try {
    result.output = await execution.result;
    result.status = 'SUCCEEDED';
  } catch (err) {
    // The engine wraps the error that ended the execution (a Fail state's
    // Error and Cause, or an uncaught task error) in an ExecutionError.
    const failure = err.name === 'ExecutionError' && err.cause instanceof Error ? err.cause : err;
    result.status = 'FAILED';
    result.error = failure.name;
    result.cause = typeof failure.cause === 'string' ? failure.cause : failure.message;
  }
  await collecting;
  result.stopTime = new Date().toISOString();
  result.events = events;
  return result;
}

const pending = [];
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let request;
  try {
    request = JSON.parse(line);
  } catch (err) {
    process.stdout.write(JSON.stringify({ status: 'REJECTED', error: 'InvalidExecutionInput', cause: err.message }) + '\n');
    continue;
  }
  pending.push(execute(main, request).then((result) => process.stdout.write(JSON.stringify(result) + '\n')));
}
await Promise.all(pending);
