namespace Aetherra.Application.Common;

/// <summary>
/// Times as PostgreSQL keeps them (microseconds). A value taken from an event at append time carries .NET's 100 ns
/// ticks, the same event read back from the store does not: a read model built live and one rebuilt from the log
/// differ unless the value is cut to microseconds first.
/// </summary>
public static class StoredTime
{
    public static DateTimeOffset ToMicroseconds(this DateTimeOffset t) => t.AddTicks(-(t.Ticks % TimeSpan.TicksPerMicrosecond));
}
