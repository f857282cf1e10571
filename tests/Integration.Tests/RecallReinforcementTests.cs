namespace Aetherra.Integration.Tests;

public sealed class RecallReinforcementTests(AetherraFixture fx)
{
    [Fact]
    public async Task reinforcing_a_memory_raises_its_reinforcement_and_its_score_in_recall()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (ids, recorded) = await client.RecordBatchAsync([
            Api.Memory("Xavi's gym bag is in the car", subject: "xavi"),
            Api.Memory("Xavi's gym card is in the car", subject: "xavi"),
        ]);
        var query = new { query = "Where is Xavi's gym stuff?", subject = "xavi", explain = true, minSequence = recorded };
        var before = await client.RecallAsync(query);
        Assert.All(before, r => Assert.Equal(0.0, r.GetProperty("explain").GetProperty("reinforcement").GetDouble()));

        var response = await client.PostAsJsonAsync($"/memories/{ids[1]}/reinforce", new { weight = 3.0, reason = "it was the answer" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Json();
        Assert.Equal(ids[1], body.GetProperty("id").GetGuid());
        Assert.Equal(2, body.GetProperty("version").GetInt32());
        var after = await client.RecallAsync(query with { minSequence = body.GetProperty("sequence").GetInt64() });
        JsonElement Of(JsonElement[] results, Guid id) => results.Single(r => r.GetProperty("id").GetGuid() == id);
        var reinforced = Of(after, ids[1]).GetProperty("explain").GetProperty("reinforcement").GetDouble();
        Assert.InRange(reinforced, 0.9, 1.0);
        Assert.Equal(0.0, Of(after, ids[0]).GetProperty("explain").GetProperty("reinforcement").GetDouble());
        Assert.True(Of(after, ids[1]).GetProperty("score").GetDouble() > Of(before, ids[1]).GetProperty("score").GetDouble());
        Assert.Equal(Of(before, ids[0]).GetProperty("score").GetDouble(), Of(after, ids[0]).GetProperty("score").GetDouble(), 4);
    }

    [Fact]
    public async Task reinforcing_a_forgotten_memory_is_refused_and_it_stays_out_of_recall()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Xavi's old gym was on Pine Road", subject: "xavi"));
        var sequence = await client.DeleteAsync($"/memories/{id}").SequenceOf();

        var response = await client.PostAsJsonAsync($"/memories/{id}/reinforce", new { weight = 1.0 });

        await response.AssertProblem(HttpStatusCode.UnprocessableEntity);
        Assert.Empty(await client.RecallAsync(new { query = "Xavi's gym Pine Road", minSequence = sequence }));
    }
}
