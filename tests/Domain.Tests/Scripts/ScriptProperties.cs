using Aetherra.Domain.Scripts;
using CsCheck;

namespace Aetherra.Domain.Tests.Scripts;

/// <summary>parse(print(tree)) == tree, for generated trees of every construct.</summary>
public sealed class ScriptProperties
{
    private static readonly At Nowhere = default;

    private static Gen<string> Pick(params string[] values) => Gen.Int[0, values.Length - 1].Select(i => values[i]);

    private static readonly Gen<string> Name = Pick("a", "m", "found", "subject", "x_1", "args", "trigger", "letter", "iffy");
    private static readonly Gen<Seq<string>> Fields = Pick("id", "content", "count", "score").Array[0, 2].Select(f => new Seq<string>(f));
    private static readonly Gen<Ref> Reference = Gen.Select(Name, Fields, (n, f) => new Ref(n, f, Nowhere));

    // Quotes, backslashes, braces, new lines and tabs: everything the printer must escape.
    private static readonly Gen<string> Chars = Gen.String[Gen.Char["ab \"\\{}\n\t#é"], 1, 8];

    private static readonly Gen<Text> Str = Gen.OneOf(Chars.Select(s => (TextPart)new Literal(s)), Reference.Select(r => (TextPart)new Hole(r)))
        .Array[0, 4].Select(parts => new Text(new Seq<TextPart>(Normalise(parts)), Nowhere));

    /// <summary>The parser joins adjacent characters into one literal: generated texts do too.</summary>
    private static IEnumerable<TextPart> Normalise(IEnumerable<TextPart> parts)
    {
        TextPart? pending = null;
        foreach (var p in parts)
        {
            if (pending is Literal a && p is Literal b) { pending = new Literal(a.Value + b.Value); continue; }
            if (pending is not null) yield return pending;
            pending = p;
        }
        if (pending is not null) yield return pending;
    }

    private static readonly Gen<Expr> Leaf = Gen.OneOf(
        Str.Select(s => (Expr)s),
        Gen.Decimal[-1000m, 1000m].Select(d => (Expr)new Number(Math.Round(d, 3), Nowhere)),
        Gen.Bool.Select(b => (Expr)new Bool(b, Nowhere)),
        Gen.Const((Expr)new Nothing(Nowhere)),
        Reference.Select(r => (Expr)r));

    private static Gen<Expr> Expression(int depth) => depth == 0 ? Leaf : Gen.OneOf(
        Leaf,
        Expression(depth - 1).Array[0, 3].Select(items => (Expr)new ListOf(new Seq<Expr>(items), Nowhere)),
        Command(depth - 1).Select(c => (Expr)new CallExpr(c, Nowhere)),
        Expression(depth - 1).Select(e => (Expr)new Not(e, Nowhere)),
        Gen.Select(Pick("==", "!=", "<", "<=", ">", ">=", "and", "or"), Expression(depth - 1), Expression(depth - 1),
            (op, l, r) => (Expr)new Binary(op, l, r, Nowhere)));

    private static Gen<Call> Command(int depth) => Gen.Select(
        Pick("recall", "remember", "decide", "unknown_thing"),
        Gen.Select(Pick("query", "subject", "limit", "evidence"), Expression(depth), (n, v) => new Argument(n, v, Nowhere)).Array[0, 3],
        (name, args) => new Call(name, new Seq<Argument>(args), Nowhere));

    private static Gen<Statement> Statement(int depth)
    {
        var simple = Gen.OneOf(
            Gen.Select(Name, Expression(2), (n, e) => (Statement)new Let(n, e, Nowhere)),
            Command(1).Select(c => (Statement)new Do(c, Nowhere)),
            Expression(2).Select(e => (Statement)new Emit(e, Nowhere)));
        if (depth == 0) return simple;
        var block = Statement(depth - 1).Array[0, 3].Select(s => new Seq<Statement>(s));
        return Gen.OneOf(
            simple,
            Gen.Select(Expression(1), block, block, (c, t, e) => (Statement)new If(c, t, e, Nowhere)),
            Gen.Select(Name, Expression(1), block, (n, s, b) => (Statement)new ForEach(n, s, b, Nowhere)));
    }

    private static readonly Gen<Trigger> ATrigger = Gen.OneOf(
        Chars.Select(c => (Trigger)new OnSchedule(c, Nowhere)),
        Chars.Select(c => (Trigger)new OnEvent(c, Nowhere)));

    private static readonly Gen<ScriptProgram> Program = Gen.Select(
        Gen.Int[0, 2000], Gen.Int[0, 2000], ATrigger.Array[0, 3], Statement(2).Array[0, 5],
        (steps, seconds, triggers, body) => new ScriptProgram(new Budget(steps, seconds, Nowhere), new Seq<Trigger>(triggers), new Seq<Statement>(body)));

    [Fact]
    public void a_printed_script_parses_back_to_the_same_tree()
    {
        Program.Sample(program =>
        {
            var printed = ScriptPrinter.Print(program);
            var (parsed, problem) = ScriptParser.Parse(printed);
            Assert.True(problem is null, $"{problem}\n{printed}");
            Assert.Equal(program, parsed);
        }, iter: 2_000);
    }
}
