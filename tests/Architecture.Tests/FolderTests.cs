namespace Aetherra.Architecture.Tests;

/// <summary>
/// Feature folders depend on each other one way only, within the Application and within the Api: a loop means
/// neither folder can be read, changed or moved without the other (docs/architecture.md, "Feature folders").
/// A failure lists each loop with the types that make every edge of it, which is what to move.
/// </summary>
public sealed class FolderTests
{
    public const string ApplicationRoot = "Aetherra.Application";
    public const string ApiRoot = "Aetherra.Api";

    [Fact]
    public void the_application_s_feature_folders_have_no_loop()
    {
        var cycles = FeatureGraph.Cycles(FeatureGraph.Edges(Assemblies.Application, ApplicationRoot));
        Assert.True(cycles.Count == 0, string.Join("\n", cycles));
    }

    [Fact]
    public void the_api_s_feature_folders_have_no_loop()
    {
        var cycles = FeatureGraph.Cycles(FeatureGraph.Edges(Assemblies.Api, ApiRoot));
        Assert.True(cycles.Count == 0, string.Join("\n", cycles));
    }

    /// <summary>A reader that read nothing would find no loop either: the real graphs have the edges they must have.</summary>
    [Fact]
    public void the_real_graphs_have_the_edges_the_code_plainly_makes()
    {
        var application = FeatureGraph.Edges(Assemblies.Application, ApplicationRoot);
        Assert.Contains(application, e => e.From == "Homeostasis" && e.To == "Operations");
        Assert.Contains(application, e => e.From == "Memory" && e.To == "Common");
        Assert.True(application.Count > 20, $"{application.Count} edges");
        var api = FeatureGraph.Edges(Assemblies.Api, ApiRoot);
        Assert.Contains(api, e => e.From == "Hosting" && e.To == "Http");
        Assert.DoesNotContain(api, e => e.From == "Internal" || e.To == "Internal");
    }
}

/// <summary>The folder rule's checker, run where a loop is known to be: a hand-written graph and a compiled one.</summary>
public sealed class FolderRuleProofs
{
    private const string Root = "Aetherra.Architecture.Tests.Violations";

    private static FeatureEdge Edge(string from, string to) => new(from, to, [$"{from}.X uses {to}.Y"]);

    [Fact]
    public void a_hand_written_graph_s_loops_are_each_reported_with_their_edges_and_nothing_else()
    {
        var edges = new[]
        {
            Edge("A", "B"), Edge("B", "C"), Edge("C", "A"), Edge("D", "A"), Edge("C", "E"),
            Edge("F", "G"), Edge("G", "F"),
        };

        var cycles = FeatureGraph.Cycles(edges);

        Assert.Equal(2, cycles.Count);
        Assert.Equal(["A", "B", "C"], cycles[0].Features);
        Assert.Equal([("A", "B"), ("B", "C"), ("C", "A")], cycles[0].Edges.Select(e => (e.From, e.To)));
        Assert.Equal(["F", "G"], cycles[1].Features);
        Assert.Contains("C -> A because C.X uses A.Y", cycles[0].ToString());
    }

    [Fact]
    public void a_graph_without_a_loop_reports_none()
    {
        Assert.Empty(FeatureGraph.Cycles([Edge("A", "B"), Edge("B", "C"), Edge("A", "C")]));
    }

    [Fact]
    public void a_compiled_loop_between_two_folders_is_reported_with_the_types_that_make_it()
    {
        var cycle = Assert.Single(FeatureGraph.Cycles(FeatureGraph.Edges(Assemblies.Tests, Root)));

        Assert.Equal(["Left", "Right"], cycle.Features);
        Assert.Equal(["Right.Back uses Left.Callee"], cycle.Edges.Single(e => e.From == "Right").Because);
    }

    [Theory]
    [InlineData("ByField", "Target")]
    [InlineData("ByBase", "Base")]
    [InlineData("ByAttribute", "MarkAttribute")]
    [InlineData("BySignature", "Target")]
    [InlineData("ByBody", "Target")]
    public void each_way_of_using_a_type_makes_an_edge(string user, string used)
    {
        var edge = FeatureGraph.Edges(Assemblies.Tests, Root).Single(e => e.From == "Left" && e.To == "Right");
        Assert.Contains($"Left.{user} uses Right.{used}", edge.Because);
    }

    [Fact]
    public void an_edge_outside_a_loop_is_in_the_graph_but_in_no_loop()
    {
        var edges = FeatureGraph.Edges(Assemblies.Tests, Root);
        Assert.Contains(edges, e => e.From == "Left" && e.To == "Down");
        Assert.DoesNotContain(FeatureGraph.Cycles(edges).SelectMany(c => c.Features), f => f == "Down");
    }

    [Theory]
    [InlineData("Aetherra.Application.Plugins.Hub", "Plugins")]
    [InlineData("Aetherra.Application.Memory", "Memory")]
    [InlineData("Aetherra.Application", null)]
    [InlineData("Aetherra.ApplicationX.Memory", null)]
    [InlineData("Internal.Generated.WolverineHandlers", null)]
    [InlineData("", null)]
    public void a_feature_is_the_segment_after_the_root(string ns, string? feature)
    {
        Assert.Equal(feature, FeatureGraph.Feature(ns, ApplicationRootOf(ns)));
    }

    private static string ApplicationRootOf(string _) => FolderTests.ApplicationRoot;
}
