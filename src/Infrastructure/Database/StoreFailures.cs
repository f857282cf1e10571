using System.Net.Sockets;
using Npgsql;

namespace Aetherra.Infrastructure.Database;

/// <summary>Tells a store outage (answer 503, retry later) from a fault in a request.</summary>
public static class StoreFailures
{
    public static bool IsUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException pg:
                    // 08: connection exception, 53: insufficient resources, 57P: operator intervention (shutdown).
                    return pg.SqlState.StartsWith("08", StringComparison.Ordinal)
                           || pg.SqlState.StartsWith("53", StringComparison.Ordinal)
                           || pg.SqlState.StartsWith("57P", StringComparison.Ordinal);
                case NpgsqlException { IsTransient: true }:
                case SocketException:
                case TimeoutException:
                    return true;
            }
        }
        return false;
    }

    /// <summary>The PostgreSQL error behind an exception, if any (Marten wraps them).</summary>
    public static PostgresException? Postgres(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
            if (e is PostgresException pg) return pg;
        return null;
    }
}
