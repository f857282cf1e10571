using Aetherra.Domain.Recall;

namespace Aetherra.Domain.Tests;

public sealed class ShadowMetricsTests
{
    private static readonly Guid[] Ids = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToArray();

    [Fact]
    public void the_same_list_overlaps_fully_and_correlates_perfectly()
    {
        var list = Ids.Take(10).ToList();
        Assert.Equal(1.0, ShadowMetrics.OverlapAt(10, list, list));
        Assert.Equal(1.0, ShadowMetrics.RankCorrelation(10, list, list), 9);
    }

    [Fact]
    public void a_reversed_list_overlaps_fully_and_correlates_negatively()
    {
        var list = Ids.Take(10).ToList();
        var reversed = Enumerable.Reverse(list).ToList();
        Assert.Equal(1.0, ShadowMetrics.OverlapAt(10, list, reversed));
        Assert.Equal(-1.0, ShadowMetrics.RankCorrelation(10, list, reversed), 9);
    }

    [Fact]
    public void disjoint_lists_do_not_overlap_and_half_shared_lists_overlap_by_half()
    {
        Assert.Equal(0.0, ShadowMetrics.OverlapAt(10, Ids.Take(10).ToList(), Ids.Skip(10).ToList()));
        Assert.Equal(0.5, ShadowMetrics.OverlapAt(10, Ids.Take(10).ToList(), Ids.Skip(5).Take(10).ToList()));
        Assert.True(ShadowMetrics.RankCorrelation(10, Ids.Take(10).ToList(), Ids.Skip(10).ToList()) < 0);
    }

    [Theory]
    [InlineData("", 0.4, 0.3)]
    [InlineData("textWeight=0.3", 0.3, 0.3)]
    [InlineData(" textWeight = 0.25 ; neighbourWeight = 0 ", 0.25, 0)]
    public void ranking_options_parse(string text, double textWeight, double neighbourWeight)
    {
        var (options, error) = RankingOptions.Parse(text);
        Assert.Null(error);
        Assert.Equal(new RankingOptions(textWeight, neighbourWeight), options);
        Assert.Equal(options, RankingOptions.Parse(options!.ToString()).Options);
    }

    [Theory]
    [InlineData("textWeight=2")]
    [InlineData("textWeight=NaN")]
    [InlineData("colour=0.5")]
    [InlineData("textWeight")]
    public void bad_ranking_options_are_refused(string text)
    {
        var (options, error) = RankingOptions.Parse(text);
        Assert.Null(options);
        Assert.NotNull(error);
    }
}
