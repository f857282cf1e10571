using System.Globalization;
using System.Text;

namespace Aetherra.Domain.Scripts;

/// <summary>Runs one command of a script (a step): the application calls the command's use case and records the step.</summary>
public interface IScriptSteps
{
    Task<object?> RunAsync(int n, Call call, IReadOnlyDictionary<string, object?> arguments, CancellationToken ct);
}

/// <summary>A run stopped: where, and why (budget spent, a value of the wrong kind, a command refused).</summary>
public sealed class ScriptStopped(At at, string message, bool budgetExhausted = false) : Exception($"{at}: {message}")
{
    public At At { get; } = at;
    public bool BudgetExhausted { get; } = budgetExhausted;
}

/// <summary>
/// Evaluates a checked script. Values are text, numbers (decimal), booleans, null, lists and records (the commands'
/// results). Every command call is a step; the step that would go past the declared budget is not run.
/// </summary>
public sealed class ScriptInterpreter(ScriptProgram program, IScriptSteps steps)
{
    private readonly List<object?> _emitted = [];

    public int Steps { get; private set; }

    public IReadOnlyList<object?> Emitted => _emitted;

    public async Task RunAsync(IReadOnlyDictionary<string, object?> ambient, CancellationToken ct)
    {
        var scope = new Dictionary<string, object?>(ambient, StringComparer.Ordinal);
        await StatementsAsync(program.Body, scope, ct);
    }

    private async Task StatementsAsync(IEnumerable<Statement> statements, Dictionary<string, object?> outer, CancellationToken ct)
    {
        var scope = new Dictionary<string, object?>(outer, StringComparer.Ordinal);
        foreach (var statement in statements)
        {
            ct.ThrowIfCancellationRequested();
            switch (statement)
            {
                case Let x: scope[x.Name] = await EvalAsync(x.Value, scope, ct); break;
                case Do x: await CallAsync(x.Call, scope, ct); break;
                case Emit x: _emitted.Add(await EvalAsync(x.Value, scope, ct)); break;
                case If x:
                    var condition = await EvalAsync(x.Condition, scope, ct);
                    await StatementsAsync(Truth(condition, x.Condition.At) ? x.Then : x.Else, scope, ct);
                    break;
                case ForEach x:
                    if (await EvalAsync(x.Source, scope, ct) is not IReadOnlyList<object?> items)
                        throw new ScriptStopped(x.Source.At, "'for each' needs a list (such as recall's results)");
                    foreach (var item in items)
                    {
                        scope[x.Name] = item;
                        await StatementsAsync(x.Body, scope, ct);
                    }
                    scope.Remove(x.Name);
                    break;
            }
        }
    }

    private async Task<object?> CallAsync(Call call, Dictionary<string, object?> scope, CancellationToken ct)
    {
        var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var a in call.Arguments) arguments[a.Name] = await EvalAsync(a.Value, scope, ct);
        if (Steps >= program.Budget.Steps)
            throw new ScriptStopped(call.At, $"the step budget of {program.Budget.Steps} is spent; '{call.Command}' was not run", budgetExhausted: true);
        Steps++;
        return await steps.RunAsync(Steps, call, arguments, ct);
    }

    private async Task<object?> EvalAsync(Expr expr, Dictionary<string, object?> scope, CancellationToken ct) => expr switch
    {
        Text t => Interpolate(t, scope),
        Number n => n.Value,
        Bool b => b.Value,
        Nothing => null,
        Ref r => Read(r, scope),
        ListOf l => await ListAsync(l, scope, ct),
        CallExpr c => await CallAsync(c.Call, scope, ct),
        Not n => !Truth(await EvalAsync(n.Operand, scope, ct), n.Operand.At),
        Binary { Operator: "and" } b => Truth(await EvalAsync(b.Left, scope, ct), b.Left.At) && Truth(await EvalAsync(b.Right, scope, ct), b.Right.At),
        Binary { Operator: "or" } b => Truth(await EvalAsync(b.Left, scope, ct), b.Left.At) || Truth(await EvalAsync(b.Right, scope, ct), b.Right.At),
        Binary b => Compare(b, await EvalAsync(b.Left, scope, ct), await EvalAsync(b.Right, scope, ct)),
        _ => throw new ScriptStopped(expr.At, "unknown expression"),
    };

    private async Task<object?> ListAsync(ListOf list, Dictionary<string, object?> scope, CancellationToken ct)
    {
        var items = new List<object?>();
        foreach (var item in list.Items) items.Add(await EvalAsync(item, scope, ct));
        return items;
    }

    private static object? Read(Ref r, Dictionary<string, object?> scope)
    {
        if (!scope.TryGetValue(r.Name, out var value)) throw new ScriptStopped(r.At, $"'{r.Name}' is not bound");
        var path = r.Name;
        foreach (var field in r.Fields)
        {
            value = value switch
            {
                IReadOnlyDictionary<string, object?> record when record.TryGetValue(field, out var v) => v,
                IReadOnlyList<object?> list when field == "count" => (decimal)list.Count,
                _ => throw new ScriptStopped(r.At, $"'{path}' has no field '{field}'"),
            };
            path += "." + field;
        }
        return value;
    }

    private static string Interpolate(Text text, Dictionary<string, object?> scope)
    {
        var s = new StringBuilder();
        foreach (var part in text.Parts)
            s.Append(part is Literal l ? l.Value : Show(Read(((Hole)part).Ref, scope)));
        return s.ToString();
    }

    /// <summary>A value as text, as interpolation writes it.</summary>
    public static string Show(object? value) => value switch
    {
        null => "null",
        string s => s,
        bool b => b ? "true" : "false",
        decimal d => d.ToString(CultureInfo.InvariantCulture),
        IReadOnlyDictionary<string, object?> r => "{" + string.Join(", ", r.Select(kv => $"{kv.Key}: {Show(kv.Value)}")) + "}",
        IReadOnlyList<object?> l => "[" + string.Join(", ", l.Select(Show)) + "]",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static bool Truth(object? value, At at) =>
        value as bool? ?? throw new ScriptStopped(at, $"a condition must be true or false, not {Show(value)}");

    private static bool Compare(Binary b, object? left, object? right)
    {
        switch (b.Operator)
        {
            case "==": return Same(left, right);
            case "!=": return !Same(left, right);
        }
        var order = (left, right) switch
        {
            (decimal x, decimal y) => x.CompareTo(y),
            (string x, string y) => string.CompareOrdinal(x, y),
            _ => throw new ScriptStopped(b.At, $"'{b.Operator}' compares two numbers or two texts, not {Show(left)} and {Show(right)}"),
        };
        return b.Operator switch { "<" => order < 0, "<=" => order <= 0, ">" => order > 0, _ => order >= 0 };
    }

    private static bool Same(object? x, object? y) => (x, y) switch
    {
        (IReadOnlyList<object?> a, IReadOnlyList<object?> c) => a.Count == c.Count && a.Zip(c).All(p => Same(p.First, p.Second)),
        _ => Equals(x, y),
    };
}
