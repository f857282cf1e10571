using System.Net.Http.Headers;
using Microsoft.Playwright;

namespace Aetherra.Integration.Tests.Console;

/// <summary>
/// One real server (a child process on its own database, vitals sampled every second, checkpoints signed every
/// second) and one headless Debian chromium driven by Playwright, shared by the console's browser tests. Each
/// test opens its own browser context (its own sessionStorage) and writes its own data.
/// </summary>
public sealed class ConsoleBrowser(AetherraFixture fx) : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async ValueTask InitializeAsync()
    {
        Server = await fx.StartLoopbackServerAsync(new Dictionary<string, string>
        {
            ["AETHERRA_VITALS_SECONDS"] = "1",
            ["AETHERRA_AUDIT_CHECKPOINT_SECONDS"] = "1",
            // A learning loop that moves after a handful of outcomes, so the tour's charts have a history.
            ["AETHERRA_AUTONOMY_MIN_SAMPLE"] = "5",
            ["AETHERRA_AUTONOMY_Z"] = "0",
        });
        Admin = Client(Server.AdminKey);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium(),
            Headless = true,
            // Root in a container has no user namespaces for chromium's sandbox.
            Args = ["--no-sandbox"],
        });
    }

    /// <summary>ops/install-chromium puts Debian's chromium on PATH; AETHERRA_CHROMIUM names another one.</summary>
    private static string Chromium()
    {
        var candidates = new[] { Environment.GetEnvironmentVariable("AETHERRA_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser" };
        return candidates.FirstOrDefault(c => !string.IsNullOrEmpty(c) && File.Exists(c))
            ?? throw new InvalidOperationException("chromium is missing: run ops/install-chromium (ops/test does)");
    }

    public HttpClient Client(string key)
    {
        var http = new HttpClient { BaseAddress = Server.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    /// <summary>A page signed in with the key, its JavaScript errors and CSP violations collected in <paramref name="errors"/>.</summary>
    public async Task<IPage> SignInAsync(string key, List<string> errors)
    {
        var context = await _browser.NewContextAsync(new() { BaseURL = Server.BaseAddress.ToString(), ViewportSize = new() { Width = 1360, Height = 900 } });
        var page = await context.NewPageAsync();
        page.PageError += (_, e) => errors.Add(e);
        page.Console += (_, m) => { if (m.Type == "error" && !m.Text.Contains("status of 4")) errors.Add(m.Text); };
        await page.GotoAsync("/console");
        await page.FillAsync("#key", key);
        await page.ClickAsync("#sign-in-form button[type=submit]");
        await Assertions.Expect(page.Locator("#nav")).ToBeVisibleAsync();
        return page;
    }

    /// <summary>
    /// Repeats a browser step until its own expectation holds: for what the console shows only after an async
    /// projection has caught up, when the step is the user's own action (asking again).
    /// </summary>
    public static async Task RetryAsync(Func<Task> attempt, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                await attempt();
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException && DateTime.UtcNow < deadline) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
        Admin?.Dispose();
        if (Server is not null) await Server.DisposeAsync();
    }
}

/// <summary>
/// The console's tests share one server and one browser, and run one after another, after the tests that run in
/// parallel: a child server and a chromium starting under the whole suite's load missed the server's 90 s start-up.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleBrowser>
{
    public const string Name = "console";
}
