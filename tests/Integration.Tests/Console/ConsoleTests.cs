using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Aetherra.Integration.Tests.Console;

/// <summary>The operator console in a real headless chromium against the real server: what a person does with it.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleTests(ConsoleBrowser b)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task the_page_and_its_assets_are_served_without_a_key_under_a_strict_content_security_policy()
    {
        using var anonymous = new HttpClient { BaseAddress = b.Server.BaseAddress };
        foreach (var path in new[] { "/console", "/console/app.js", "/console/console.css" })
        {
            using var response = await anonymous.GetAsync(path, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("default-src 'self'", csp);
            Assert.Contains("script-src 'self'", csp);
            Assert.DoesNotContain("unsafe-inline", csp);
        }
        // Only the console's own files are open: data routes still want a key.
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/whoami", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/console/missing.js", Ct)).StatusCode);
    }

    [Fact]
    public async Task signing_in_shows_only_the_pages_the_keys_scopes_allow()
    {
        var errors = new List<string>();
        var reader = await b.Server.NewKeyAsync("console-reader", "console-scopes", ["memory:read"], Ct);
        var page = await b.SignInAsync(reader, errors);
        await Expect(page.Locator("#identity")).ToContainTextAsync("tenant console-scopes");
        await Expect(page.Locator("#nav a")).ToHaveTextAsync(["Memories"]);

        var admin = await b.SignInAsync(b.Server.AdminKey, errors);
        await Expect(admin.Locator("#nav a")).ToHaveCountAsync(8);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task a_wrong_key_is_refused_and_nothing_is_kept()
    {
        var errors = new List<string>();
        var context = await b.SignInAsync(b.Server.AdminKey, errors);
        await context.ClickAsync("#sign-out");
        await Expect(context.Locator("#sign-in")).ToBeVisibleAsync();
        Assert.Null(await context.EvaluateAsync<string?>("sessionStorage.getItem('aetherra.key')"));
        await context.FillAsync("#key", "not-a-key");
        await context.ClickAsync("#sign-in-form button[type=submit]");
        await Expect(context.Locator("#sign-in-error")).ToContainTextAsync("Unknown or revoked key");
        await Expect(context.Locator("#nav")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task approving_an_escalated_decision_takes_it_out_of_the_queue_without_a_reload()
    {
        var action = $"refund order {Guid.NewGuid():N}";
        var proposed = await b.Admin.PostAsJsonAsync("/decisions", new
        {
            agent = "console-agent", category = "refunds", action, confidence = 0.2, rationale = "the customer was charged twice", risk = "high"
        }, Ct);
        Assert.Equal(HttpStatusCode.Created, proposed.StatusCode);
        var decision = await proposed.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("escalated", decision.GetProperty("status").GetString());
        var id = decision.GetProperty("id").GetString();

        var errors = new List<string>();
        var page = await b.SignInAsync(b.Server.AdminKey, errors);
        // The approval queue is the first page a signed-in administrator sees.
        await Expect(page.Locator("#page-body[data-page=approvals]")).ToBeVisibleAsync();
        var card = page.Locator($"[data-decision='{id}']");
        await Expect(card).ToContainTextAsync(action);
        await Expect(card).ToContainTextAsync("the customer was charged twice");
        await Expect(card).ToContainTextAsync("confidence 0.20 < threshold");
        await card.Locator("input.note").FillAsync("checked the ledger");
        // Its nav link, followed while a note is typed, keeps the page as it is (it used to mount it again, with an
        // empty note, when the hash changed).
        await page.ClickAsync("#nav a[data-page=approvals]");
        await page.WaitForFunctionAsync("() => location.hash === '#/approvals'");
        await Expect(card.Locator("input.note")).ToHaveValueAsync("checked the ledger");
        var navigations = 0;
        page.FrameNavigated += (_, _) => navigations++;
        // The queue's polling is held while the card is watched: the click itself must take it away.
        var hold = new TaskCompletionSource();
        await page.RouteAsync("**/decisions?status=escalated*", async route =>
        {
            await hold.Task;
            await route.ContinueAsync();
        });
        await card.Locator("button.approve").ClickAsync();

        await Expect(card).ToHaveCountAsync(0);
        Assert.Equal(0, navigations);
        hold.SetResult();
        await page.UnrouteAllAsync(new() { Behavior = UnrouteBehavior.Wait });
        var stored = await b.Admin.GetFromJsonAsync<JsonElement>($"/decisions/{id}", Ct);
        Assert.Equal("approved", stored.GetProperty("status").GetString());
        Assert.Equal("checked the ledger", stored.GetProperty("review").GetProperty("note").GetString());
        Assert.Empty(errors);
    }

    [Fact]
    public async Task a_vital_is_charted_with_its_data_points_and_setpoint_band()
    {
        // Samples arrive every second: wait (bounded) for a few in the history the chart draws.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await PointsAsync("database.size") < 3)
        {
            Assert.True(DateTime.UtcNow < deadline, "no vitals sampled within 30 s");
            await Task.Delay(250, Ct);
        }

        var errors = new List<string>();
        var page = await b.SignInAsync(b.Server.AdminKey, errors);
        await page.ClickAsync("#nav a[data-page=homeostasis]");
        var chart = page.Locator("[data-vital='database.size'] svg.chart");
        await Expect(chart).ToBeVisibleAsync();
        Assert.True(await chart.Locator("circle.pt").CountAsync() >= 3);
        await Expect(page.Locator("[data-vital='http.error-rate'] rect.band")).ToHaveCountAsync(1);
        await Expect(page.Locator("#homeostasis-state")).ToContainTextAsync("System");
        Assert.Empty(errors);
    }

    private async Task<int> PointsAsync(string vital)
    {
        var history = await b.Admin.GetFromJsonAsync<JsonElement>($"/homeostasis/vitals/{vital}/history?window=hour", Ct);
        return history.GetProperty("nodes").EnumerateArray().Sum(n => n.GetProperty("points").GetArrayLength());
    }

    [Fact]
    public async Task verify_in_this_browser_says_valid_and_says_invalid_once_the_proof_is_tampered_with()
    {
        var written = await b.Admin.PostAsJsonAsync("/memories",
            new { content = "audited from the console test", subject = "console-audit", agent = "a", kind = "fact" }, Ct);
        var sequence = (await written.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("sequence").GetInt64();
        // The log folds events asynchronously and signs a checkpoint every second: wait until one covers the write.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await b.Admin.GetAsync($"/audit/proof/inclusion?sequence={sequence}", Ct)).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "no checkpoint covered the write within 30 s");
            await Task.Delay(250, Ct);
        }

        var errors = new List<string>();
        var page = await b.SignInAsync(b.Server.AdminKey, errors);
        await page.ClickAsync("#nav a[data-page=audit]");
        await Expect(page.Locator("#checkpoint")).ToContainTextAsync("\u2014 ");
        await page.FillAsync("#verify-sequence", sequence.ToString());
        await page.ClickAsync("#verify");
        await Expect(page.Locator("#verdict-text")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^Valid"));
        await Expect(page.Locator("#verdict")).ToContainTextAsync("checkpoint signature valid (Ed25519)");

        // The same check against a proof altered on its way to the browser: one bit of the leaf hash.
        await page.RouteAsync("**/audit/proof/inclusion**", async route =>
        {
            var response = await route.FetchAsync();
            var proof = System.Text.Json.Nodes.JsonNode.Parse(await response.TextAsync())!;
            var leaf = Convert.FromBase64String(proof["leafHash"]!.GetValue<string>());
            leaf[0] ^= 1;
            proof["leafHash"] = Convert.ToBase64String(leaf);
            await route.FulfillAsync(new() { Response = response, Body = proof.ToJsonString() });
        });
        await page.ClickAsync("#verify");
        await Expect(page.Locator("#verdict-text")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^Invalid"));
        await Expect(page.Locator("#verdict")).ToContainTextAsync("not the signed root");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task forgetting_a_memory_asks_for_confirmation_then_forgets_it()
    {
        var subject = $"console-{Guid.NewGuid():N}"[..20];
        var written = await b.Admin.PostAsJsonAsync("/memories",
            new { content = "Bea prefers jasmine tea", subject, agent = "assistant", kind = "preference" }, Ct);
        var id = (await written.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetString();

        var errors = new List<string>();
        var page = await b.SignInAsync(b.Server.AdminKey, errors);
        await page.ClickAsync("#nav a[data-page=memories]");
        await page.FillAsync("#subject", subject);
        await page.FillAsync("#query", "what tea does Bea like?");
        var row = page.Locator($"tr[data-memory='{id}']");
        // The recall projection is async: ask again until the new memory is in it (the console's own button).
        await ConsoleBrowser.RetryAsync(async () =>
        {
            await page.ClickAsync("#recall-form button[type=submit]");
            await Expect(row).ToBeVisibleAsync(new() { Timeout = 1000 });
        }, TimeSpan.FromSeconds(30));
        await row.Locator("button.history").ClickAsync();
        await Expect(page.Locator("#memory-detail")).ToContainTextAsync("memory.recorded");

        await row.Locator("button.forget").ClickAsync();
        await Expect(page.Locator("#memory-detail .confirm")).ToContainTextAsync("Bea prefers jasmine tea");
        Assert.Equal("active", (await b.Admin.GetFromJsonAsync<JsonElement>($"/memories/{id}", Ct)).GetProperty("status").GetString());
        await page.ClickAsync("#confirm-forget");
        await Expect(page.Locator("#forgotten")).ToContainTextAsync(id!);
        var gone = await b.Admin.GetAsync($"/memories/{id}", Ct);
        Assert.True(gone.StatusCode is HttpStatusCode.NotFound || (await gone.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("status").GetString() == "forgotten");
        Assert.Empty(errors);
    }
}
