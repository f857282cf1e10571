using Aetherra.Domain.Scripts;

namespace Aetherra.Domain.Tests.Scripts;

public sealed class ScriptRunTests
{
    private static ScriptProgram Parse(string source) =>
        ScriptParser.Parse(source) is { Program: { } p } ? p : throw new InvalidOperationException(ScriptParser.Parse(source).Problem!.ToString());

    [Fact]
    public void unknown_commands_unbound_names_missing_arguments_and_missing_scopes_are_found_before_anything_runs()
    {
        var program = Parse("""
            budget 5000 steps 5 seconds
            on schedule "every minute"
            let found = recall(query: "x", subjekt: s)
            launch(target: found)
            for each m in found {
              decide(agent: "a", category: "c", action: m.content, confidence: 1, rationale: "r")
            }
            emit m
            """);
        var problems = ScriptChecks.Check(program, scope => scope == "memory:read");
        Assert.Equal(
        [
            "1:1: the step budget must be 1 to 1000 steps",
            "2:1: 'every minute' is not a cron expression (five fields, or six with seconds first)",
            "3:32: 'recall' takes no argument 'subjekt' (it takes query, subject, agent, session, kinds, tags, limit)",
            "3:41: 's' is not bound here (bind it with let, for each, or read args.s)",
            "4:1: unknown command 'launch' (commands: remember, recall, forget, decide, invoke, task)",
            "6:3: 'decide' needs the scope 'decisions:write', which the script's key does not hold",
            "6:3: 'decide' needs the argument 'risk'",
            "8:6: 'm' is not bound here (bind it with let, for each, or read args.m)",
        ], problems.Select(p => p.ToString()));
    }

    [Fact]
    public async Task a_run_stops_at_its_step_budget_without_running_the_step_past_it()
    {
        var program = Parse("""
            budget 3 steps 5 seconds
            for each n in [1, 2, 3, 4, 5] {
              remember(content: "n is {n}", subject: "s", agent: "a", kind: "fact")
            }
            """);
        var steps = new Recorder();
        var run = new ScriptInterpreter(program, steps);
        var stopped = await Assert.ThrowsAsync<ScriptStopped>(() => run.RunAsync(new Dictionary<string, object?>(), CancellationToken.None));
        Assert.True(stopped.BudgetExhausted);
        Assert.Equal(["n is 1", "n is 2", "n is 3"], steps.Calls.Select(c => (string)c.Arguments["content"]!));
        Assert.Equal(3, run.Steps);
    }

    [Fact]
    public async Task values_flow_from_one_command_into_the_next_and_out_through_emit()
    {
        var program = Parse("""
            budget 10 steps 5 seconds
            let found = recall(query: "q", subject: args.subject)
            for each m in found {
              if m.score >= 0.5 {
                decide(agent: "a", category: "c", action: "act on {m.content}", confidence: 0.9, rationale: "r", risk: "low")
              }
            }
            emit found.count
            """);
        var steps = new Recorder
        {
            Answer = call => call.Command == "recall"
                ? new List<object?>
                {
                    new Dictionary<string, object?> { ["content"] = "alpha", ["score"] = 0.9m },
                    new Dictionary<string, object?> { ["content"] = "beta", ["score"] = 0.1m },
                }
                : null,
        };
        var run = new ScriptInterpreter(program, steps);
        await run.RunAsync(new Dictionary<string, object?> { ["args"] = new Dictionary<string, object?> { ["subject"] = "s-1" } }, CancellationToken.None);
        Assert.Equal(["recall", "decide"], steps.Calls.Select(c => c.Command));
        Assert.Equal("s-1", steps.Calls[0].Arguments["subject"]);
        Assert.Equal("act on alpha", steps.Calls[1].Arguments["action"]);
        Assert.Equal([2m], run.Emitted);
    }

    private sealed class Recorder : IScriptSteps
    {
        public List<(string Command, IReadOnlyDictionary<string, object?> Arguments)> Calls { get; } = [];
        public Func<Call, object?> Answer { get; init; } = _ => null;

        public Task<object?> RunAsync(int n, Call call, IReadOnlyDictionary<string, object?> arguments, CancellationToken ct)
        {
            Calls.Add((call.Command, arguments));
            return Task.FromResult(Answer(call));
        }
    }
}
