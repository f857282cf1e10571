namespace Aetherra.Application.Memory;

/// <summary>Audit action names of the memory commands (also the endpoints' operation ids).</summary>
public static class MemoryActions
{
    public const string Record = "memory.record";
    public const string RecordBatch = "memory.record-batch";
    public const string Revise = "memory.revise";
    public const string Forget = "memory.forget";
    public const string ForgetSubject = "subject.forget";
    public const string ForgetSubjectByBody = "subject.forget-by-body";
    public const string Reinforce = "memory.reinforce";
    public const string Consolidate = "memory.consolidate";
}

public static class MemoryLimits
{
    public const int MaxContentLength = 16_384;
    public const int MaxNameLength = 200;
    public const int MaxTags = 32;
    public const int MaxTagLength = 64;
    public const int MaxReasonLength = 1_000;
    public const int MaxSourceLength = 1_000;
    public const int MaxBatch = 1_000;
}
