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
/// the bootstrap admin key, printed once and written to AETHERRA_ADMIN_KEY_FILE.
/// </summary>
public sealed class StartupTasks(
    NpgsqlDataSource db, ApiKeyStore keys, IDocumentStore store, Application.Recall.RecallQuery recall, AetherraSettings settings,
    ILogger<StartupTasks> log)
    : IHostedService
{
    public const string BootstrapTenant = "default";

    public async Task StartAsync(CancellationToken ct)
    {
        await DatabaseBootstrap.ApplyAsync(db, ct);
        await Infrastructure.Jobs.JobRunner.FailInterruptedAsync(db, ct);
        await Warmup.RunAsync(store, ct);
        await recall.WarmAsync(ct);
        if (await keys.AnyAsync(ct)) return;

        var (key, secret) = await keys.CreateAsync("bootstrap-admin", BootstrapTenant, [Scopes.Admin], ct);
        if (settings.AdminKeyFile is { Length: > 0 } file)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
            await File.WriteAllTextAsync(file, secret + "\n", ct);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        // Shown once, on purpose on the console and not through the log pipeline (logs get shipped).
        Console.WriteLine($"""

            Bootstrap admin key (tenant '{BootstrapTenant}', scope admin) — shown once{(settings.AdminKeyFile is null ? "" : $", saved to {settings.AdminKeyFile}")}:
                {secret}
            Sign in with it at /console (the operator console) or send it as "Authorization: Bearer <key>".

            """);
        log.LogInformation("Created the bootstrap admin key {KeyId}", key.Id);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
