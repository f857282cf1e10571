using Npgsql;

namespace Aetherra.Integration.Tests;

public sealed class RecallForgetTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_forgotten_memory_is_never_recalled_again()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (forgotten, _) = await client.RecordAsync(Api.Memory("Omar's locker code is 4471", subject: "omar"));
        var (kept, recorded) = await client.RecordAsync(Api.Memory("Omar's locker is on the second floor", subject: "omar"));
        var before = await client.RecallAsync(new { query = "Omar's locker code", minSequence = recorded });
        Assert.Contains(forgotten, before.Ids());

        var sequence = await client.DeleteAsync($"/memories/{forgotten}?reason=asked").SequenceOf();

        var exact = await client.RecallAsync(new { query = "Omar's locker code is 4471", minSequence = sequence });
        var filtered = await client.RecallAsync(new { query = "4471", subject = "omar", kinds = new[] { "fact" }, limit = 100, minSequence = sequence });
        Assert.DoesNotContain(forgotten, exact.Ids());
        Assert.DoesNotContain(forgotten, filtered.Ids());
        Assert.DoesNotContain(exact.Concat(filtered), r => r.GetProperty("content").GetString()!.Contains("4471"));
        Assert.Contains(kept, exact.Ids());
    }

    [Fact]
    public async Task forgetting_a_subject_removes_all_its_memories_from_recall_and_its_text_from_the_read_model()
    {
        var key = await fx.NewTenantAsync();
        var client = fx.Client(key.Key);
        var subject = "pia-" + Guid.NewGuid().ToString("N")[..8];
        var (ids, _) = await client.RecordBatchAsync([
            Api.Memory("Pia's therapist is Dr Holm", subject: subject),
            Api.Memory("Pia takes sertraline every morning", subject: subject),
        ]);
        var (revised, _) = await client.RecordAsync(Api.Memory("Pia sees Dr Holm on Tuesdays", subject: subject));
        await client.ReviseAsync(revised, "Pia sees Dr Holm on Thursdays").SequenceOf();
        var revisedAt = (await client.HistoryInstantsAsync(revised))[1];
        var (other, recorded) = await client.RecordAsync(Api.Memory("Pia's brother sees Dr Holm too", subject: "pias-brother"));
        Assert.Equal(3, (await client.RecallAsync(new { query = "Dr Holm", subject, minSequence = recorded })).Length);
        Assert.True(await CountAsync("recall_terms", key.Tenant, subject) > 0);

        var sequence = await client.DeleteAsync($"/subjects/{subject}").SequenceOf();

        var bySubject = await client.RecallAsync(new { query = "Dr Holm", subject, minSequence = sequence });
        var anywhere = await client.RecallAsync(new { query = "Pia's therapist Dr Holm sertraline", limit = 100, minSequence = sequence });
        // What was known before the forget is not answered either: the text itself is gone.
        var asOfBefore = await client.RecallAsync(new { query = "Dr Holm", subject, asOf = revisedAt, minSequence = sequence });
        Assert.Empty(bySubject);
        Assert.Empty(asOfBefore);
        Assert.Equal([other], anywhere.Ids());
        Assert.DoesNotContain(ids.Append(revised), anywhere.Ids().Contains);

        Assert.Equal(4, await CountAsync("recall_entries", key.Tenant, subject));
        Assert.Equal(0, await CountAsync("recall_entries", key.Tenant, subject,
            "content is not null or tsv is not null or embedding is not null or valid_to is null"));
        Assert.Equal(0, await CountAsync("recall_terms", key.Tenant, subject));
        Assert.Equal(0, await CountAsync("recall_subjects", key.Tenant, subject));
        Assert.Equal(1, await CountAsync("recall_entries", key.Tenant, "pias-brother", "content is not null"));
    }

    [Fact]
    public async Task a_revised_memory_is_recalled_with_its_new_content_and_version_only()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Quinn's flight leaves from Gatwick", subject: "quinn"));

        var sequence = await client.ReviseAsync(id, "Quinn's flight leaves from Heathrow").SequenceOf();

        var byNew = await client.RecallAsync(new { query = "Heathrow flight", subject = "quinn", minSequence = sequence });
        var byOld = await client.RecallAsync(new { query = "Quinn's flight leaves from Gatwick", limit = 100, minSequence = sequence });
        var found = Assert.Single(byNew);
        Assert.Equal(id, found.GetProperty("id").GetGuid());
        Assert.Equal("Quinn's flight leaves from Heathrow", found.GetProperty("content").GetString());
        Assert.Equal(2, found.GetProperty("version").GetInt32());
        var again = Assert.Single(byOld);
        Assert.Equal(2, again.GetProperty("version").GetInt32());
        Assert.DoesNotContain(byNew.Concat(byOld).Contents(), c => c.Contains("Gatwick"));
    }

    private async Task<long> CountAsync(string table, string tenant, string subject, string where = "true")
    {
        await using var db = fx.OpenDatabase();
        await using var count = new NpgsqlCommand(
            $"select count(*) from aetherra.{table} where tenant_id = $1 and subject = $2 and ({where})", db)
        {
            Parameters = { new() { Value = tenant }, new() { Value = subject } }
        };
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
