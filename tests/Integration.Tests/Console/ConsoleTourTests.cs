using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Aetherra.Integration.Tests.Console;

/// <summary>
/// Every page of the console, signed in as an admin over a little of everything: each must render its data with
/// no script error, no CSP violation and no error shown. With AETHERRA_CONSOLE_SCREENSHOTS set to a folder, each
/// page is also saved there as a PNG (docs/console/ holds the ones docs/console.md shows).
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleTourTests(ConsoleBrowser b)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task every_page_renders_its_data_without_an_error()
    {
        await SeedAsync();
        var errors = new List<string>();
        var page = await b.SignInAsync(b.Server.AdminKey, errors);
        var shots = Environment.GetEnvironmentVariable("AETHERRA_CONSOLE_SCREENSHOTS");

        async Task Visit(string id, string ready, Func<Task>? act = null)
        {
            await page.ClickAsync($"#nav a[data-page={id}]");
            if (act is not null) await act();
            await Expect(page.Locator(ready).First).ToBeVisibleAsync(new() { Timeout = 30_000 });
            await Expect(page.Locator("#updated")).ToContainTextAsync("Updated");
            await Expect(page.Locator("#page-error")).ToBeEmptyAsync();
            if (!string.IsNullOrEmpty(shots))
            {
                Directory.CreateDirectory(shots);
                await page.ScreenshotAsync(new() { Path = Path.Combine(shots, $"{id}.png"), FullPage = id is "homeostasis" or "learning" });
            }
        }

        await Visit("approvals", "#queue [data-decision]");
        await Visit("memories", "#recall-results tr[data-memory]", async () =>
        {
            await page.FillAsync("#subject", "alice");
            await page.FillAsync("#query", "what does Alice drink?");
            await ConsoleBrowser.RetryAsync(async () =>
            {
                await page.ClickAsync("#recall-form button[type=submit]");
                await Expect(page.Locator("#recall-results tr[data-memory]").First).ToBeVisibleAsync(new() { Timeout = 1000 });
            }, TimeSpan.FromSeconds(30));
            await page.Locator("#recall-results button.history").First.ClickAsync();
        });
        await Visit("audit", "#timeline tbody tr", async () =>
        {
            await Expect(page.Locator("#verify-sequence")).Not.ToBeEmptyAsync();
            await ConsoleBrowser.RetryAsync(async () =>
            {
                await page.ClickAsync("#verify");
                await Expect(page.Locator("#verdict-text")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^Valid"), new() { Timeout = 2000 });
            }, TimeSpan.FromSeconds(30));
        });
        await Visit("homeostasis", "[data-vital] circle.pt");
        await Visit("learning", "[data-category] svg.chart");
        await Visit("plugins", "#plugins p, #plugins table");
        await Visit("projections", "#projections tr[data-projection]", async () =>
        {
            await page.Locator("#projections tr[data-projection] button").First.ClickAsync();
            await Expect(page.Locator("#jobs .job.succeeded")).ToHaveCountAsync(1, new() { Timeout = 60_000 });
        });
        await Visit("keys", "#create-key", async () =>
        {
            await page.FillAsync("#key-name", "dashboard-reader");
            await page.Locator("#create-key label.check", new() { HasText = "audit:read" }).ClickAsync();
            await page.ClickAsync("#create-key button[type=submit]");
            await Expect(page.Locator("#new-key")).ToBeVisibleAsync();
        });
        Assert.Empty(errors);
    }

    /// <summary>A little of everything: memories, decisions escalated and resolved, a vital held out of its band.</summary>
    private async Task SeedAsync()
    {
        foreach (var content in new[] { "Alice prefers green tea", "Alice drinks her tea without sugar", "Alice is allergic to peanuts" })
            (await b.Admin.PostAsJsonAsync("/memories", new { content, subject = "alice", agent = "assistant", kind = "preference" }, Ct)).EnsureSuccessStatusCode();
        var random = new Random(16);
        for (var i = 0; i < 24; i++)
        {
            var confidence = Math.Round(0.55 + random.NextDouble() * 0.44, 2);
            var proposed = await (await b.Admin.PostAsJsonAsync("/decisions", new
            {
                agent = "assistant", category = "reminders", action = $"send reminder #{i}", confidence,
                rationale = "the user asked to be reminded", risk = "low"
            }, Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
            var id = proposed.GetProperty("id").GetString();
            if (proposed.GetProperty("status").GetString() == "escalated")
                (await b.Admin.PostAsJsonAsync($"/decisions/{id}/approve", new { note = "fine" }, Ct)).EnsureSuccessStatusCode();
            (await b.Admin.PostAsJsonAsync($"/decisions/{id}/outcome", new { success = random.NextDouble() < confidence }, Ct)).EnsureSuccessStatusCode();
        }
        foreach (var (action, rationale) in new[]
        {
            ("refund order 1042 (EUR 480)", "the customer was charged twice for the same order"),
            ("delete the shared calendar 'Team'", "the user said the team disbanded"),
        })
            (await b.Admin.PostAsJsonAsync("/decisions", new
            {
                agent = "assistant", category = "payments", action, confidence = 0.62, rationale, risk = "high"
            }, Ct)).EnsureSuccessStatusCode();
        // A band the connection count cannot stay in: the sampler raises a deviation the chart shades.
        (await b.Admin.PutAsJsonAsync("/homeostasis/setpoints/database.connections", new { max = 1 }, Ct)).EnsureSuccessStatusCode();
    }
}
