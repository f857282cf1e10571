using System.Text;

namespace Aetherra.Domain.Scripts;

/// <summary>
/// Prints a syntax tree back as .aether source in one canonical layout (two-space indents, one statement a line,
/// nested operators in parentheses): parsing what it prints gives the same tree (a property test holds it).
/// </summary>
public static class ScriptPrinter
{
    public static string Print(ScriptProgram program)
    {
        var s = new StringBuilder();
        s.Append($"budget {program.Budget.Steps} steps {program.Budget.Seconds} seconds\n");
        foreach (var t in program.Triggers)
            s.Append(t switch
            {
                OnSchedule x => $"on schedule {Quote(x.Cron)}\n",
                OnEvent x => $"on event {Quote(x.EventType)}\n",
                _ => throw new ArgumentOutOfRangeException(nameof(program), t, "unknown trigger"),
            });
        if (program.Body.Count > 0) s.Append('\n');
        Statements(s, program.Body, 0);
        return s.ToString();
    }

    private static void Statements(StringBuilder s, IEnumerable<Statement> statements, int depth)
    {
        foreach (var statement in statements)
        {
            s.Append(' ', depth * 2);
            Statement(s, statement, depth);
            s.Append('\n');
        }
    }

    private static void Statement(StringBuilder s, Statement statement, int depth)
    {
        switch (statement)
        {
            case Let x: s.Append($"let {x.Name} = {Expression(x.Value)}"); break;
            case Do x: s.Append(Call(x.Call)); break;
            case Emit x: s.Append($"emit {Expression(x.Value)}"); break;
            case ForEach x:
                s.Append($"for each {x.Name} in {Expression(x.Source)} ");
                Block(s, x.Body, depth);
                break;
            case If x:
                s.Append($"if {Expression(x.Condition)} ");
                Block(s, x.Then, depth);
                if (x.Else.Count > 0)
                {
                    s.Append(" else ");
                    Block(s, x.Else, depth);
                }
                break;
            default: throw new ArgumentOutOfRangeException(nameof(statement), statement, "unknown statement");
        }
    }

    private static void Block(StringBuilder s, Seq<Statement> body, int depth)
    {
        s.Append("{\n");
        Statements(s, body, depth + 1);
        s.Append(' ', depth * 2).Append('}');
    }

    public static string Call(Call call) =>
        $"{call.Command}({string.Join(", ", call.Arguments.Select(a => $"{a.Name}: {Expression(a.Value)}"))})";

    public static string Expression(Expr expr) => expr switch
    {
        Text x => Quote(x.Parts),
        Number x => ScriptParser.Format(x.Value),
        Bool x => x.Value ? "true" : "false",
        Nothing => "null",
        Ref x => Path(x),
        ListOf x => $"[{string.Join(", ", x.Items.Select(Expression))}]",
        CallExpr x => Call(x.Call),
        Not x => $"not {Operand(x.Operand)}",
        Binary x => $"{Operand(x.Left)} {x.Operator} {Operand(x.Right)}",
        _ => throw new ArgumentOutOfRangeException(nameof(expr), expr, "unknown expression"),
    };

    private static string Operand(Expr e) => e is Binary or Not ? $"({Expression(e)})" : Expression(e);

    private static string Path(Ref r) => string.Join('.', r.Fields.Prepend(r.Name));

    private static string Quote(string text) => Quote(text.Length == 0 ? [] : [new Literal(text)]);

    private static string Quote(IEnumerable<TextPart> parts)
    {
        var s = new StringBuilder("\"");
        foreach (var part in parts)
        {
            if (part is Hole h)
            {
                s.Append('{').Append(Path(h.Ref)).Append('}');
                continue;
            }
            foreach (var ch in ((Literal)part).Value)
                s.Append(ch switch
                {
                    '"' => "\\\"", '\\' => "\\\\", '\n' => "\\n", '\t' => "\\t", '{' => "\\{", '}' => "\\}",
                    _ => ch.ToString(),
                });
        }
        return s.Append('"').ToString();
    }
}
