namespace Aetherra.Application.Tasks;

/// <summary>Audit action names of the task commands (also the endpoints' operation ids).</summary>
public static class TaskActions
{
    public const string Create = "task.create";
    public const string Claim = "task.claim";
    public const string Heartbeat = "task.heartbeat";
    public const string Complete = "task.complete";
    public const string Fail = "task.fail";
    public const string Cancel = "task.cancel";
}

public static class TaskLimits
{
    public const int MaxTitleLength = 500;
    public const int MaxNameLength = 200;
    public const int MaxErrorLength = 8_000;
    public const int MaxJsonLength = 256 * 1024;
    public const int MaxDependencies = 100;
    public const int MaxAttempts = 100;
    public const int DefaultAttempts = 3;
    public const int DefaultPriority = 5;
    public const int DefaultLeaseSeconds = 60;
    public const int MaxLeaseSeconds = 24 * 3600;
    public const int MaxRetryAfterSeconds = 24 * 3600;
    public const int MaxPage = 500;
    public const int DefaultPage = 100;
}
