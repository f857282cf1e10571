using System.Collections;

namespace Aetherra.Domain.Scripts;

/// <summary>
/// Where a node was written (1-based). Positions say where, not what: two trees that say the same thing are equal
/// wherever they were written, so a script printed and parsed again compares equal to the one it came from.
/// </summary>
public readonly record struct At(int Line, int Column)
{
    public bool Equals(At other) => true;

    public override int GetHashCode() => 0;

    public override string ToString() => $"{Line}:{Column}";
}

/// <summary>An immutable list compared by its elements, so that syntax trees compare by value.</summary>
public sealed class Seq<T>(IEnumerable<T> items) : IReadOnlyList<T>, IEquatable<Seq<T>>
{
    private readonly T[] _items = items.ToArray();

    public static readonly Seq<T> Empty = new([]);

    public T this[int index] => _items[index];
    public int Count => _items.Length;
    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_items).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();
    public bool Equals(Seq<T>? other) => other is not null && _items.SequenceEqual(other._items);
    public override bool Equals(object? obj) => Equals(obj as Seq<T>);
    public override int GetHashCode() => _items.Aggregate(_items.Length, (h, x) => HashCode.Combine(h, x));
}

/// <summary>A whole .aether script: its declared limits, what starts it, and its statements.</summary>
/// <remarks>Not sealed: a sealed record of Domain that nothing carries is taken for an event (EventNameTests).</remarks>
public record ScriptProgram(Budget Budget, Seq<Trigger> Triggers, Seq<Statement> Body);

/// <summary>The declared step budget (commands run) and time limit: a run stops at whichever comes first.</summary>
public sealed record Budget(int Steps, int Seconds, At At);

public abstract record Trigger(At At);

/// <summary>Runs on a cron schedule (five fields, or six with seconds first).</summary>
public sealed record OnSchedule(string Cron, At At) : Trigger(At);

/// <summary>Runs when an event of this stored type (e.g. <c>decision.escalated.v1</c>) is appended in the script's tenant.</summary>
public sealed record OnEvent(string EventType, At At) : Trigger(At);

public abstract record Statement(At At);

public sealed record Let(string Name, Expr Value, At At) : Statement(At);

public sealed record Do(Call Call, At At) : Statement(At);

public sealed record If(Expr Condition, Seq<Statement> Then, Seq<Statement> Else, At At) : Statement(At);

public sealed record ForEach(string Name, Expr Source, Seq<Statement> Body, At At) : Statement(At);

public sealed record Emit(Expr Value, At At) : Statement(At);

/// <summary>A command of Aetherra (remember, recall, ...) with named arguments.</summary>
public sealed record Call(string Command, Seq<Argument> Arguments, At At);

public sealed record Argument(string Name, Expr Value, At At);

public abstract record Expr(At At);

public sealed record Text(Seq<TextPart> Parts, At At) : Expr(At);

public abstract record TextPart;

public sealed record Literal(string Value) : TextPart;

/// <summary>An interpolated <c>{name.field}</c> inside a string.</summary>
public sealed record Hole(Ref Ref) : TextPart;

public sealed record Number(decimal Value, At At) : Expr(At);

public sealed record Bool(bool Value, At At) : Expr(At);

public sealed record Nothing(At At) : Expr(At);

/// <summary>A name and the fields read from it: <c>m.subject</c>.</summary>
public sealed record Ref(string Name, Seq<string> Fields, At At) : Expr(At);

public sealed record ListOf(Seq<Expr> Items, At At) : Expr(At);

public sealed record CallExpr(Call Call, At At) : Expr(At);

public sealed record Not(Expr Operand, At At) : Expr(At);

public sealed record Binary(string Operator, Expr Left, Expr Right, At At) : Expr(At);

/// <summary>A problem found in a script, where it is (not sealed, as <see cref="ScriptProgram"/>: not an event).</summary>
public record ScriptProblem(int Line, int Column, string Message)
{
    public override string ToString() => $"{Line}:{Column}: {Message}";
}
