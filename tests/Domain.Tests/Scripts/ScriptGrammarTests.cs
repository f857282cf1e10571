using Aetherra.Domain.Scripts;

namespace Aetherra.Domain.Tests.Scripts;

public sealed class ScriptGrammarTests
{
    public const string Example = """
        # For each open question about a subject, propose a follow-up.
        budget 20 steps 30 seconds
        on schedule "*/5 * * * * *"
        on event "decision.escalated.v1"

        let subject = args.subject
        let found = recall(query: "open question", subject: subject, limit: 5)
        for each m in found {
          if m.score > 0 and not (m.kind == "preference") {
            decide(agent: "follow-up", category: "email", action: "follow up on {m.content}", confidence: 0.9,
                   rationale: "recalled for {subject}", risk: "low", subject: subject, evidence: [m])
          } else {
            emit "skipped {m.id}"
          }
        }
        emit found.count
        """;

    [Fact]
    public void a_script_with_every_construct_parses_into_its_tree()
    {
        var (program, problem) = ScriptParser.Parse(Example);
        Assert.Null(problem);
        Assert.Equal(new Budget(20, 30, default), program!.Budget);
        Assert.Equal([new OnSchedule("*/5 * * * * *", default), new OnEvent("decision.escalated.v1", default)], program.Triggers);
        Assert.Equal(4, program.Body.Count);
        var loop = Assert.IsType<ForEach>(program.Body[2]);
        Assert.Equal(new At(8, 1), loop.At with { }, new PositionComparer());
        var branch = Assert.IsType<If>(Assert.Single(loop.Body));
        var decide = Assert.IsType<Do>(Assert.Single(branch.Then)).Call;
        Assert.Equal("decide", decide.Command);
        Assert.Equal(new At(10, 5), decide.At, new PositionComparer());
        var action = Assert.IsType<Text>(decide.Arguments.Single(a => a.Name == "action").Value);
        Assert.Equal([new Literal("follow up on "), new Hole(new Ref("m", new Seq<string>(["content"]), default))], action.Parts);
        Assert.Empty(ScriptChecks.Check(program, _ => true));
    }

    [Theory]
    [InlineData("", 1, 1, "expected 'budget N steps N seconds' first")]
    [InlineData("budget 5 steps\nlet x = 1", 2, 1, "expected the time limit after 'steps', found 'let'")]
    [InlineData("budget 5 steps 5 seconds\nlet = 1", 2, 5, "expected a name after 'let', found '='")]
    [InlineData("budget 5 steps 5 seconds\nlet x 1", 2, 7, "expected '=' after the name, found '1'")]
    [InlineData("budget 5 steps 5 seconds\nrecall(query \"x\")", 2, 14, "expected ':' after the argument's name")]
    [InlineData("budget 5 steps 5 seconds\nlet x = \"open", 2, 14, "this string is not closed")]
    [InlineData("budget 5 steps 5 seconds\nfor each m in x {\n  emit m\n", 4, 1, "expected '}' to close the block, or a statement, found the end of the script")]
    [InlineData("budget 5 steps 5 seconds\nlet x = 1\n  banana", 3, 3, "expected a statement")]
    [InlineData("budget 5 steps 5 seconds\nemit \"a {1}\"", 2, 10, "expected a name inside '{...}'")]
    [InlineData("budget 5 steps 5 seconds\nif x == {", 2, 9, "expected an expression after the comparison")]
    [InlineData("budget 5 steps 5 seconds\non schedule 5", 2, 13, "expected a string in double quotes")]
    public void an_invalid_script_is_refused_naming_line_and_column(string source, int line, int column, string message)
    {
        var (program, problem) = ScriptParser.Parse(source);
        Assert.Null(program);
        Assert.NotNull(problem);
        Assert.StartsWith(message, problem.Message);
        Assert.Equal((line, column), (problem.Line, problem.Column));
    }

    [Fact]
    public void printing_a_parsed_script_gives_the_canonical_text_which_parses_to_the_same_tree()
    {
        var program = ScriptParser.Parse(Example).Program!;
        var printed = ScriptPrinter.Print(program);
        var again = ScriptParser.Parse(printed);
        Assert.Null(again.Problem);
        Assert.Equal(program, again.Program);
        Assert.Equal(printed, ScriptPrinter.Print(again.Program!));
    }

    /// <summary>Positions are ignored by the trees' equality; this compares them.</summary>
    private sealed class PositionComparer : IEqualityComparer<At>
    {
        public bool Equals(At x, At y) => x.Line == y.Line && x.Column == y.Column;
        public int GetHashCode(At obj) => HashCode.Combine(obj.Line, obj.Column);
    }
}
