using System.Diagnostics.Metrics;

namespace Aetherra.Infrastructure.Telemetry;

/// <summary>What the recorder saw since it was last drained; latencies are null when nothing was measured.</summary>
public sealed record RecordedVitals(double? RecallP95Ms, double? WriteP95Ms, long Requests, long ServerErrors);

/// <summary>
/// A rolling in-process record of the measurements homeostasis needs, fed by the instruments already there
/// (AetherraMetrics.RecallDuration, ASP.NET Core's http.server.request.duration) through a MeterListener: the
/// request path pays one lock and one array slot, nothing more. Each interval keeps at most
/// <see cref="Capacity"/> latencies per kind (a uniform reservoir sample beyond that).
/// </summary>
public sealed class VitalRecorder : IDisposable
{
    public const int Capacity = 4096;
    private const string HttpDuration = "http.server.request.duration";

    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private Reservoir _recall = new(), _write = new();
    private long _requests, _errors;

    public VitalRecorder()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // By name, not by reference: an instrument is published while its static field is still being
            // initialised, so AetherraMetrics.RecallDuration can be null at that moment.
            if (IsRecall(instrument) || instrument is { Name: HttpDuration, Meter.Name: "Microsoft.AspNetCore.Hosting" })
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<double>(OnMeasurement);
        _listener.Start();
    }

    private void OnMeasurement(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (IsRecall(instrument))
        {
            lock (_gate) _recall.Add(value);
            return;
        }
        string? method = null, route = null;
        var status = 0;
        foreach (var tag in tags)
            switch (tag.Key)
            {
                case "http.request.method": method = tag.Value as string; break;
                case "http.route": route = tag.Value as string; break;
                case "http.response.status_code": status = Convert.ToInt32(tag.Value, System.Globalization.CultureInfo.InvariantCulture); break;
            }
        lock (_gate)
        {
            _requests++;
            if (status >= 500) _errors++;
            if (IsWrite(method, route)) _write.Add(value * 1000);
        }
    }

    private static bool IsRecall(Instrument instrument) =>
        instrument is { Name: AetherraMetrics.RecallDurationName, Meter.Name: AetherraMetrics.Name };

    /// <summary>Memory writes: the commands on /memories and /subjects (recall is a query, sent as POST).</summary>
    public static bool IsWrite(string? method, string? route) =>
        method is "POST" or "PUT" or "DELETE" && route is not null
        && (route.StartsWith("/memories", StringComparison.Ordinal) || route.StartsWith("/subjects", StringComparison.Ordinal));

    /// <summary>What was recorded since the last call, and a fresh interval.</summary>
    public RecordedVitals Drain()
    {
        lock (_gate)
        {
            var result = new RecordedVitals(_recall.P95(), _write.P95(), _requests, _errors);
            (_recall, _write, _requests, _errors) = (new(), new(), 0, 0);
            return result;
        }
    }

    public void Dispose() => _listener.Dispose();

    private sealed class Reservoir
    {
        private readonly double[] _values = new double[Capacity];
        private long _seen;

        public void Add(double value)
        {
            var slot = _seen < Capacity ? _seen : Random.Shared.NextInt64(_seen + 1);
            if (slot < Capacity) _values[slot] = value;
            _seen++;
        }

        public double? P95()
        {
            var n = (int)Math.Min(_seen, Capacity);
            if (n == 0) return null;
            var sorted = _values[..n];
            Array.Sort(sorted);
            return sorted[Math.Min(n - 1, (int)Math.Ceiling(0.95 * n) - 1)];
        }
    }
}
