using System.Globalization;
using System.Text;
using Parlot;
using Parlot.Fluent;
using static Parlot.Fluent.Parsers;

namespace Aetherra.Domain.Scripts;

/// <summary>
/// The .aether grammar of docs/aether.md, built with Parlot's combinators. A script that does not parse gets one
/// problem naming the line and column of the first thing that could not be read, and what was expected there.
/// </summary>
public static class ScriptParser
{
    public const int MaxSourceLength = 64 * 1024;

    public static readonly IReadOnlySet<string> Keywords = new HashSet<string>(StringComparer.Ordinal)
    {
        "budget", "steps", "seconds", "on", "schedule", "event", "let", "if", "else", "for", "each", "in", "emit",
        "and", "or", "not", "true", "false", "null",
    };

    // Lazy: the grammar is built from the static parsers below, which must exist first.
    private static readonly Lazy<Parser<ScriptProgram>> Grammar = new(Build);

    public static (ScriptProgram? Program, ScriptProblem? Problem) Parse(string source)
    {
        if (source.Length > MaxSourceLength) return (null, new ScriptProblem(1, 1, $"a script is at most {MaxSourceLength} characters"));
        var context = new ParseContext(new Scanner(source)) { WhiteSpaceParser = Comments };
        try
        {
            var result = new ParseResult<ScriptProgram>();
            if (!Grammar.Value.Parse(context, ref result))
                return (null, Problem(context, "expected 'budget N steps N seconds' first"));
            context.SkipWhiteSpace();
            return context.Scanner.Cursor.Eof
                ? (result.Value, null)
                : (null, Problem(context, "expected a statement (let, if, for each, emit or a command such as recall(...))"));
        }
        catch (ParseException e)
        {
            return (null, new ScriptProblem(e.Position.Line, e.Position.Column, e.Message));
        }
    }

    private static ScriptProblem Problem(ParseContext context, string expected)
    {
        context.SkipWhiteSpace();
        var p = context.Scanner.Cursor.Position;
        return new ScriptProblem(p.Line, p.Column, $"{expected}, found {Found(context)}");
    }

    private static string Found(ParseContext context)
    {
        var cursor = context.Scanner.Cursor;
        if (cursor.Eof) return "the end of the script";
        var rest = cursor.Span;
        var n = 0;
        while (n < rest.Length && n < 20 && !char.IsWhiteSpace(rest[n])) n++;
        return $"'{rest[..Math.Max(n, 1)].ToString()}'";
    }

    /// <summary>Whitespace, new lines and <c>#</c> comments up to the end of their line.</summary>
    private static readonly Parser<TextSpan> Comments = new DelegateParser<TextSpan>((ParseContext c, out TextSpan span) =>
    {
        var s = c.Scanner;
        var start = s.Cursor.Offset;
        while (true)
        {
            s.SkipWhiteSpaceOrNewLine();
            if (s.Cursor.Current != '#') break;
            while (!s.Cursor.Eof && s.Cursor.Current != '\n') s.Cursor.Advance();
        }
        span = new TextSpan(s.Buffer, start, s.Cursor.Offset - start);
        return true;
    });

    /// <summary>The position of the next token (after whitespace and comments).</summary>
    private static readonly Parser<At> Here = new DelegateParser<At>((ParseContext c, out At at) =>
    {
        c.SkipWhiteSpace();
        var p = c.Scanner.Cursor.Position;
        at = new At(p.Line, p.Column);
        return true;
    });

    /// <summary>Once a construct has begun, what must follow: its absence is an error at the next token.</summary>
    private static Parser<T> Expect<T>(Parser<T> parser, string expected) => new DelegateParser<T>((ParseContext c, out T value) =>
    {
        c.SkipWhiteSpace();
        var result = new ParseResult<T>();
        if (parser.Parse(c, ref result))
        {
            value = result.Value;
            return true;
        }
        var p = c.Scanner.Cursor.Position;
        throw new ParseException($"expected {expected}, found {Found(c)}", p);
    });

    private static Parser<string> Keyword(string word) => Terms.Keyword(word);

    private static readonly Parser<string> Name = Terms.Identifier(extraPart: ch => ch == '_')
        .Then(s => s.ToString()).When((_, s) => !Keywords.Contains(s));

    /// <summary>A double-quoted string with <c>\"</c>, <c>\\</c>, <c>\n</c>, <c>\t</c>, <c>\{</c> and <c>{name.field}</c> holes.</summary>
    private static readonly Parser<Expr> Str = new DelegateParser<Expr>((ParseContext c, out Expr expr) =>
    {
        expr = null!;
        c.SkipWhiteSpace();
        var cursor = c.Scanner.Cursor;
        if (cursor.Current != '"') return false;
        var start = cursor.Position;
        cursor.Advance();
        var parts = new List<TextPart>();
        var text = new StringBuilder();
        while (true)
        {
            if (cursor.Eof || cursor.Current == '\n')
                throw new ParseException("this string is not closed: expected '\"' before the end of the line", cursor.Position);
            var ch = cursor.Current;
            if (ch == '"') { cursor.Advance(); break; }
            if (ch == '\\')
            {
                var at = cursor.Position;
                cursor.Advance();
                text.Append(cursor.Current switch
                {
                    '"' => '"', '\\' => '\\', 'n' => '\n', 't' => '\t', '{' => '{', '}' => '}',
                    _ => throw new ParseException("unknown escape: use \\\" \\\\ \\n \\t \\{ or \\}", at),
                });
                cursor.Advance();
                continue;
            }
            if (ch == '{')
            {
                if (text.Length > 0) parts.Add(new Literal(text.ToString()));
                text.Clear();
                cursor.Advance();
                parts.Add(new Hole(Interpolated(c)));
                continue;
            }
            if (ch == '}') throw new ParseException("a '}' in a string is written \\}", cursor.Position);
            text.Append(ch);
            cursor.Advance();
        }
        if (text.Length > 0) parts.Add(new Literal(text.ToString()));
        expr = new Text(new Seq<TextPart>(parts), new At(start.Line, start.Column));
        return true;
    });

    /// <summary>Inside a string's <c>{...}</c>: a name and its fields, nothing else, then '}'.</summary>
    private static Ref Interpolated(ParseContext c)
    {
        var cursor = c.Scanner.Cursor;
        var at = cursor.Position;
        var segments = new List<string>();
        while (true)
        {
            var from = cursor.Offset;
            if (!char.IsLetter(cursor.Current) && cursor.Current != '_')
                throw new ParseException("expected a name inside '{...}' (write \\{ for a brace)", cursor.Position);
            while (char.IsLetterOrDigit(cursor.Current) || cursor.Current == '_') cursor.Advance();
            segments.Add(c.Scanner.Buffer[from..cursor.Offset]);
            if (cursor.Current == '.') { cursor.Advance(); continue; }
            if (cursor.Current == '}') { cursor.Advance(); break; }
            throw new ParseException("expected '.' or '}' to close the interpolation", cursor.Position);
        }
        if (Keywords.Contains(segments[0])) throw new ParseException($"'{segments[0]}' is a keyword, not a name", at);
        return new Ref(segments[0], new Seq<string>(segments.Skip(1)), new At(at.Line, at.Column));
    }

    private static Parser<ScriptProgram> Build()
    {
        var expr = Deferred<Expr>();
        var statements = Deferred<IReadOnlyList<Statement>>();

        var argument = Here.And(Name).AndSkip(Expect(Terms.Char(':'), "':' after the argument's name"))
            .And(Expect(expr, "a value for the argument"))
            .Then(x => new Argument(x.Item2, x.Item3, x.Item1));
        var call = Here.And(Name).AndSkip(Terms.Char('('))
            .And(Separated(Terms.Char(','), argument).Else([]))
            .AndSkip(Expect(Terms.Char(')'), "',' or ')' after an argument (arguments are written name: value)"))
            .Then(x => new Call(x.Item2, new Seq<Argument>(x.Item3), x.Item1));

        var number = Here.And(Terms.Decimal(NumberOptions.AllowLeadingSign | NumberOptions.AllowDecimalSeparator))
            .Then(x => (Expr)new Number(x.Item2, x.Item1));
        var constant = Here.And(Keyword("true").Or(Keyword("false")).Or(Keyword("null")))
            .Then(x => x.Item2 switch
            {
                "true" => (Expr)new Bool(true, x.Item1),
                "false" => new Bool(false, x.Item1),
                _ => new Nothing(x.Item1),
            });
        var list = Here.AndSkip(Terms.Char('[')).And(Separated(Terms.Char(','), expr).Else([]))
            .AndSkip(Expect(Terms.Char(']'), "',' or ']' in the list"))
            .Then(x => (Expr)new ListOf(new Seq<Expr>(x.Item2), x.Item1));
        var reference = Here.And(Name).And(ZeroOrMany(Literals.Char('.').SkipAnd(Expect(Literals.Identifier(), "a field name after '.'"))))
            .Then(x => (Expr)new Ref(x.Item2, new Seq<string>(x.Item3.Select(f => f.ToString())), x.Item1));
        var group = Terms.Char('(').SkipAnd(Expect(expr, "an expression after '('")).AndSkip(Expect(Terms.Char(')'), "')'"));
        var primary = Str.Or(number).Or(constant).Or(list).Or(call.Then(c => (Expr)new CallExpr(c, c.At))).Or(reference).Or(group);

        var unary = Deferred<Expr>();
        unary.Parser = Here.AndSkip(Keyword("not")).And(Expect(unary, "an expression after 'not'"))
            .Then(x => (Expr)new Not(x.Item2, x.Item1)).Or(primary);
        var comparisonOperator = Terms.Text("==").Or(Terms.Text("!=")).Or(Terms.Text("<=")).Or(Terms.Text(">="))
            .Or(Terms.Text("<")).Or(Terms.Text(">"));
        var comparison = unary.And(comparisonOperator.And(Expect(unary, "an expression after the comparison")).Optional())
            .Then(x => x.Item2.HasValue ? new Binary(x.Item2.Value.Item1, x.Item1, x.Item2.Value.Item2, x.Item1.At) : x.Item1);
        Parser<Expr> Chain(Parser<Expr> operand, string op) =>
            operand.And(ZeroOrMany(Keyword(op).SkipAnd(Expect(operand, $"an expression after '{op}'"))))
                .Then(x => x.Item2.Aggregate(x.Item1, (left, right) => new Binary(op, left, right, left.At)));
        expr.Parser = Chain(Chain(comparison, "and"), "or");

        var block = Expect(Terms.Char('{'), "'{' to open a block").SkipAnd(statements)
            .AndSkip(Expect(Terms.Char('}'), "'}' to close the block, or a statement"))
            .Then(s => new Seq<Statement>(s));
        var let = Here.AndSkip(Keyword("let")).And(Expect(Name, "a name after 'let'"))
            .AndSkip(Expect(Terms.Char('='), "'=' after the name")).And(Expect(expr, "a value after '='"))
            .Then(x => (Statement)new Let(x.Item2, x.Item3, x.Item1));
        var ifElse = Deferred<Statement>();
        ifElse.Parser = Here.AndSkip(Keyword("if")).And(Expect(expr, "a condition after 'if'")).And(block)
            .And(Keyword("else").SkipAnd(ifElse.Then(s => new Seq<Statement>([s])).Or(block)).Optional())
            .Then(x => (Statement)new If(x.Item2, x.Item3, x.Item4.HasValue ? x.Item4.Value : Seq<Statement>.Empty, x.Item1));
        var forEach = Here.AndSkip(Keyword("for")).AndSkip(Expect(Keyword("each"), "'each' after 'for'"))
            .And(Expect(Name, "a name after 'for each'")).AndSkip(Expect(Keyword("in"), "'in' after the loop's name"))
            .And(Expect(expr, "what to loop over after 'in'")).And(block)
            .Then(x => (Statement)new ForEach(x.Item2, x.Item3, x.Item4, x.Item1));
        var emit = Here.AndSkip(Keyword("emit")).And(Expect(expr, "a value after 'emit'"))
            .Then(x => (Statement)new Emit(x.Item2, x.Item1));
        var doCall = call.Then(c => (Statement)new Do(c, c.At));
        statements.Parser = ZeroOrMany(let.Or(ifElse).Or(forEach).Or(emit).Or(doCall));

        var integer = Terms.Integer(NumberOptions.None).Then(n => n > int.MaxValue ? int.MaxValue : (int)n);
        var budget = Here.AndSkip(Keyword("budget")).And(Expect(integer, "the step budget after 'budget'"))
            .AndSkip(Expect(Keyword("steps"), "'steps' after the step budget")).And(Expect(integer, "the time limit after 'steps'"))
            .AndSkip(Expect(Keyword("seconds"), "'seconds' after the time limit"))
            .Then(x => new Budget(x.Item2, x.Item3, x.Item1));
        var quoted = Expect(Str, "a string in double quotes").Then(e => e is Text { Parts: [Literal l] } ? l.Value
            : e is Text { Parts.Count: 0 } ? "" : throw new ParseException("a trigger's string cannot interpolate", new TextPosition(0, e.At.Line, e.At.Column)));
        var trigger = Here.AndSkip(Keyword("on")).And(Expect(Keyword("schedule").Or(Keyword("event")), "'schedule' or 'event' after 'on'"))
            .And(quoted)
            .Then(x => x.Item2 == "schedule" ? (Trigger)new OnSchedule(x.Item3, x.Item1) : new OnEvent(x.Item3, x.Item1));
        return budget.And(ZeroOrMany(trigger)).And(statements)
            .Then(x => new ScriptProgram(x.Item1, new Seq<Trigger>(x.Item2), new Seq<Statement>(x.Item3)));
    }

    internal static string Format(decimal value) => value.ToString(CultureInfo.InvariantCulture);
}
