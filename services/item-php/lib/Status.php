<?php
declare(strict_types=1);

namespace ItemPhp;

// Status is one answer: a gRPC status code, its message, and the response
// message's bytes (empty unless the code is OK).
final class Status
{
    // The gRPC codes this service answers with (google.golang.org/grpc/codes).
    public const OK = 0;
    public const INVALID_ARGUMENT = 3;
    public const NOT_FOUND = 5;
    public const UNIMPLEMENTED = 12;
    public const INTERNAL = 13;

    public const NAMES = [
        self::OK => 'OK',
        self::INVALID_ARGUMENT => 'InvalidArgument',
        self::NOT_FOUND => 'NotFound',
        self::UNIMPLEMENTED => 'Unimplemented',
        self::INTERNAL => 'Internal',
    ];

    private function __construct(
        public readonly int $code,
        public readonly string $message,
        public readonly string $body,
    ) {
    }

    public static function ok(\Google\Protobuf\Internal\Message $response): self
    {
        return new self(self::OK, '', $response->serializeToString());
    }

    public static function error(int $code, string $message): self
    {
        return new self($code, $message, '');
    }

    public function name(): string
    {
        return self::NAMES[$this->code] ?? (string) $this->code;
    }
}
