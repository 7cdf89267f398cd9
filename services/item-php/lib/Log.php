<?php
declare(strict_types=1);

namespace ItemPhp;

// Log writes one JSON line per call to stderr, with the keys of the Go
// services' log lines (services/internal/logging), so that one query finds
// a request's lines in every service. PHP-FPM passes the workers' stderr
// through to its own (catch_workers_output, undecorated).
final class Log
{
    public static function call(string $method, Status $answer, int $tookNs): void
    {
        $level = match ($answer->code) {
            Status::INTERNAL => 'ERROR',
            default => 'INFO',
        };
        $extra = $answer->message === '' ? [] : ['error' => $answer->message];
        // The bridge's health probe comes every second: logged only at debug,
        // which this app does not write.
        if ($method === '/healthz' && $answer->code === Status::OK) {
            return;
        }
        self::write($level, 'php call', $method, $answer->name(), $tookNs, $extra);
    }

    public static function error(string $msg, string $method, \Throwable $e): void
    {
        self::write('ERROR', $msg, $method, 'Internal', 0, ['error' => $e->getMessage(), 'at' => $e->getFile() . ':' . $e->getLine()]);
    }

    private static function write(string $level, string $msg, string $method, string $status, int $tookNs, array $extra): void
    {
        $line = [
            'time' => (new \DateTimeImmutable())->format('Y-m-d\TH:i:s.uP'),
            'level' => $level,
            'msg' => $msg,
            'service' => 'item-php',
            // As the bridge received them (FastCGI params HTTP_*).
            'request_id' => $_SERVER['HTTP_X_REQUEST_ID'] ?? '',
            'trace_id' => $_SERVER['HTTP_X_B3_TRACEID'] ?? '',
            'method' => $method,
            'status' => $status,
            'duration_ms' => round($tookNs / 1e6, 3),
        ] + $extra;
        file_put_contents('php://stderr', json_encode($line, JSON_UNESCAPED_SLASHES) . "\n");
    }
}
