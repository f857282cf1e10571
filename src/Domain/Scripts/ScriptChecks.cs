using System.Text.RegularExpressions;
using Cronos;

namespace Aetherra.Domain.Scripts;

/// <summary>
/// What is checked before anything runs: the declared budget and time limit are within bounds, every command is
/// known and gets the arguments it takes, every name is bound where it is read, every trigger is well formed, and
/// the key the script runs as holds the scope of every command it calls.
/// </summary>
public static partial class ScriptChecks
{
    public const int MaxSteps = 1_000;
    public const int MaxSeconds = 600;
    public const int MaxTriggers = 8;

    /// <summary>Bound in every run: the run's arguments, and what started it (its kind, and for an event the event).</summary>
    public static readonly IReadOnlyList<string> Ambient = ["args", "trigger"];

    public static IReadOnlyList<ScriptProblem> Check(ScriptProgram program, Func<string, bool> granted)
    {
        var problems = new List<ScriptProblem>();
        void Add(At at, string message) => problems.Add(new ScriptProblem(at.Line, at.Column, message));

        var b = program.Budget;
        if (b.Steps is < 1 or > MaxSteps) Add(b.At, $"the step budget must be 1 to {MaxSteps} steps");
        if (b.Seconds is < 1 or > MaxSeconds) Add(b.At, $"the time limit must be 1 to {MaxSeconds} seconds");
        if (program.Triggers.Count > MaxTriggers) Add(program.Triggers[MaxTriggers].At, $"a script has at most {MaxTriggers} triggers");
        foreach (var t in program.Triggers)
        {
            if (t is OnSchedule s && Schedules.Parse(s.Cron) is null)
                Add(s.At, $"'{s.Cron}' is not a cron expression (five fields, or six with seconds first)");
            if (t is OnEvent e && !EventTypePattern().IsMatch(e.EventType))
                Add(e.At, $"'{e.EventType}' is not a stored event type name such as 'decision.escalated.v1'");
            else if (t is OnEvent loop && !ScriptDecisions.CanTrigger(loop.EventType))
                Add(loop.At, $"'{loop.EventType}' cannot trigger a script: script and audit events would trigger runs without end");
        }

        var scopesReported = new HashSet<string>();
        void Statements(IEnumerable<Statement> statements, ImmutableScope scope)
        {
            foreach (var statement in statements)
                switch (statement)
                {
                    case Let x:
                        Expression(x.Value, scope);
                        scope = scope.With(x.Name);
                        break;
                    case Do x: Call(x.Call, scope); break;
                    case Emit x: Expression(x.Value, scope); break;
                    case If x:
                        Expression(x.Condition, scope);
                        Statements(x.Then, scope);
                        Statements(x.Else, scope);
                        break;
                    case ForEach x:
                        Expression(x.Source, scope);
                        Statements(x.Body, scope.With(x.Name));
                        break;
                }
        }

        void Call(Call call, ImmutableScope scope)
        {
            if (!ScriptCommands.All.TryGetValue(call.Command, out var spec))
            {
                Add(call.At, $"unknown command '{call.Command}' (commands: {string.Join(", ", ScriptCommands.All.Keys)})");
                foreach (var a in call.Arguments) Expression(a.Value, scope);
                return;
            }
            if (!granted(spec.Scope) && scopesReported.Add(spec.Scope))
                Add(call.At, $"'{spec.Name}' needs the scope '{spec.Scope}', which the script's key does not hold");
            foreach (var group in call.Arguments.GroupBy(a => a.Name).Where(g => g.Count() > 1))
                Add(group.Skip(1).First().At, $"'{group.Key}' is given twice");
            foreach (var a in call.Arguments)
            {
                if (!spec.Takes(a.Name))
                    Add(a.At, $"'{spec.Name}' takes no argument '{a.Name}' (it takes {string.Join(", ", spec.Required.Concat(spec.Optional))})");
                Expression(a.Value, scope);
            }
            foreach (var missing in spec.Required.Where(r => call.Arguments.All(a => a.Name != r)))
                Add(call.At, $"'{spec.Name}' needs the argument '{missing}'");
        }

        void Expression(Expr expr, ImmutableScope scope)
        {
            switch (expr)
            {
                case Ref r: Bound(r, scope); break;
                case Text t:
                    foreach (var h in t.Parts.OfType<Hole>()) Bound(h.Ref, scope);
                    break;
                case ListOf l:
                    foreach (var i in l.Items) Expression(i, scope);
                    break;
                case CallExpr c: Call(c.Call, scope); break;
                case Not n: Expression(n.Operand, scope); break;
                case Binary bin:
                    Expression(bin.Left, scope);
                    Expression(bin.Right, scope);
                    break;
            }
        }

        void Bound(Ref r, ImmutableScope scope)
        {
            if (!scope.Has(r.Name)) Add(r.At, $"'{r.Name}' is not bound here (bind it with let, for each, or read args.{r.Name})");
        }

        Statements(program.Body, new ImmutableScope(Ambient));
        return problems.OrderBy(p => p.Line).ThenBy(p => p.Column).ToList();
    }

    /// <summary>Every command call in the script, in the order written.</summary>
    public static IEnumerable<Call> Calls(ScriptProgram program) => program.Body.SelectMany(CallsIn);

    private static IEnumerable<Call> CallsIn(Statement s) => s switch
    {
        Let x => CallsIn(x.Value),
        Do x => CallsIn(x.Call),
        Emit x => CallsIn(x.Value),
        If x => CallsIn(x.Condition).Concat(x.Then.SelectMany(CallsIn)).Concat(x.Else.SelectMany(CallsIn)),
        ForEach x => CallsIn(x.Source).Concat(x.Body.SelectMany(CallsIn)),
        _ => [],
    };

    private static IEnumerable<Call> CallsIn(Call c) => c.Arguments.SelectMany(a => CallsIn(a.Value)).Prepend(c);

    private static IEnumerable<Call> CallsIn(Expr e) => e switch
    {
        CallExpr x => CallsIn(x.Call),
        ListOf x => x.Items.SelectMany(CallsIn),
        Not x => CallsIn(x.Operand),
        Binary x => CallsIn(x.Left).Concat(CallsIn(x.Right)),
        _ => [],
    };

    [GeneratedRegex("^[a-z][a-z0-9-]*(\\.[a-z0-9-]+)*\\.v[0-9]+$")]
    private static partial Regex EventTypePattern();

    private sealed class ImmutableScope(IEnumerable<string> names)
    {
        private readonly HashSet<string> _names = new(names, StringComparer.Ordinal);
        public bool Has(string name) => _names.Contains(name);
        public ImmutableScope With(string name) => new(_names.Append(name));
    }
}

/// <summary>Cron schedules: five fields (minutes) or six (seconds first), in UTC.</summary>
public static class Schedules
{
    public static CronExpression? Parse(string cron)
    {
        var fields = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields is not (5 or 6)) return null;
        try
        {
            return CronExpression.Parse(cron, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException)
        {
            return null;
        }
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/>, or null when there is none.</summary>
    public static DateTimeOffset? Next(string cron, DateTimeOffset after) =>
        Parse(cron)?.GetNextOccurrence(after, TimeZoneInfo.Utc);
}
