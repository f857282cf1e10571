using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Infrastructure;
using Aetherra.Infrastructure.Database;
using Aetherra.Infrastructure.Keys;
using Marten;
using Npgsql;

namespace Aetherra.Api.Hosting;

/// <summary>
/// Before the server listens: our own tables, a warm-up of the read paths, then, on the very first start,
/// the bootstrap key (operator, and admin of the default tenant), printed once and written to AETHERRA_ADMIN_KEY_FILE.
/// </summary>
public sealed class StartupTasks(
    NpgsqlDataSource db, Infrastructure.Database.TenantDatabases databases, ApiKeyStore keys, IDocumentStore store, Application.Recall.RecallQuery recall, AetherraSettings settings,
    IHostApplicationLifetime lifetime, Microsoft.AspNetCore.Hosting.Server.IServer server, ILogger<StartupTasks> log)
    : IHostedService
{
    public const string BootstrapTenant = "default";

    public async Task StartAsync(CancellationToken ct)
    {
        await DatabaseBootstrap.ApplyAsync(databases, ct);
        await Infrastructure.Jobs.JobRunner.FailInterruptedAsync(db, ct);
        await Warmup.RunAsync(store, ct);
        await recall.WarmAsync(ct);
        lifetime.ApplicationStarted.Register(Banner);
        if (await keys.AnyAsync(ct))
        {
            if (await keys.GrantBootstrapOperatorAsync(ct))
                log.LogWarning("The bootstrap key now holds the operator scope; other admin keys administer their own tenant only (docs/security.md)");
            return;
        }

        // Both kinds of administrator: the installation's operator, and the administrator of the default
        // tenant (so the walk-throughs in README.md and docs/ run with this one key).
        var (key, secret) = await keys.CreateAsync(ApiKeyStore.BootstrapName, BootstrapTenant, [Scopes.Admin, Scopes.Operator], ct);
        if (settings.AdminKeyFile is { Length: > 0 } file)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
            await File.WriteAllTextAsync(file, secret + "\n", ct);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        // Shown once, on purpose on the console and not through the log pipeline (logs get shipped).
        Console.WriteLine($"""

            Bootstrap admin key (tenant '{BootstrapTenant}', scopes admin and operator) — shown once{(settings.AdminKeyFile is null ? "" : $", saved to {settings.AdminKeyFile}")}:
                {secret}
            Sign in with it at /console (the operator console) or send it as "Authorization: Bearer <key>".

            """);
        log.LogInformation("Created the bootstrap admin key {KeyId}", key.Id);
    }

    /// <summary>Once listening: where things are, for the person who just started it.</summary>
    private void Banner()
    {
        var addresses = server.Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses;
        if (addresses is not { Count: > 0 }) return;
        var api = addresses.First().TrimEnd('/');
        var key = settings.AdminKeyFile is { Length: > 0 } file && File.Exists(file) ? file : null;
        Console.WriteLine($"""

            Aetherra is ready.
                API                   {api}
                API docs (try it)     {api}/docs
                OpenAPI document      {api}/openapi/v1.json
            {(key is null ? "" : $"    bootstrap admin key   in {key} (send it as 'Authorization: Bearer <key>')\n")}
            """);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
