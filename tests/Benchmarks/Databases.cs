using Npgsql;

namespace Aetherra.Benchmarks;

/// <summary>Fresh databases on the benchmark cluster, dropped again at the end (also after a failure).</summary>
public sealed class Databases(string serverConnection) : IAsyncDisposable
{
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly List<string> _created = [];

    public async Task<string> CreateAsync(string purpose, CancellationToken ct)
    {
        var name = $"aetherra_bench_{_run}_{purpose}";
        await using (var admin = new NpgsqlConnection(serverConnection))
        {
            await admin.OpenAsync(ct);
            await using var create = new NpgsqlCommand($"create database {name}", admin);
            await create.ExecuteNonQueryAsync(ct);
        }
        _created.Add(name);
        return new NpgsqlConnectionStringBuilder(serverConnection) { Database = name }.ConnectionString;
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(serverConnection);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        // For profiling by hand (EXPLAIN on the loaded data): the driver run against a cluster of one's own.
        if (Environment.GetEnvironmentVariable("AETHERRA_BENCH_KEEP_DATABASES") == "1")
        {
            Console.Error.WriteLine($"aetherra-bench: kept the databases {string.Join(", ", _created)} (AETHERRA_BENCH_KEEP_DATABASES=1)");
            return;
        }
        await using var admin = new NpgsqlConnection(serverConnection);
        await admin.OpenAsync();
        foreach (var name in _created)
        {
            await using var drop = new NpgsqlCommand($"drop database if exists {name} with (force)", admin);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
