<?php
// The item service in PHP: item.v1.ItemService as a FastCGI application
// under PHP-FPM, the "legacy system written in PHP" of the original example.
//
// It never speaks gRPC. The Go bridge (services/item-bridge) turns each gRPC
// call into one FastCGI request to this script:
//
//   PATH_INFO        the gRPC method, /item.v1.ItemService/GetItem
//   request body     the request message, protobuf-encoded
//   SEED_SCALE       the bridge's --seed-scale (the Go item service's flag)
//   HTTP_X_REQUEST_ID, HTTP_X_B3_TRACEID, ...  the call's trace headers
//
// and reads back the gRPC status from the Grpc-Status and Grpc-Message
// headers (the message percent-encoded, as gRPC encodes it) and the
// response message from the body. Its answers, errors included, are those
// of the Go item service; services/integration runs the same cases against
// both.
declare(strict_types=1);

require __DIR__ . '/lib/Status.php';
require __DIR__ . '/lib/Seed.php';
require __DIR__ . '/lib/ItemService.php';
require __DIR__ . '/lib/Log.php';

// The generated classes (Item\V1\..., GPBMetadata\...) and Debian's
// protobuf runtime (Google\Protobuf\...) are found on the include_path,
// which the pool config sets: one directory per namespace root, no Composer.
spl_autoload_register(static function (string $class): void {
    $file = stream_resolve_include_path(str_replace('\\', '/', $class) . '.php');
    if ($file !== false) {
        require $file;
    }
});

$start = hrtime(true);
$method = $_SERVER['PATH_INFO'] ?? '';
try {
    $answer = ItemPhp\ItemService::handle($method, (string) file_get_contents('php://input'), ItemPhp\Seed::scaleFrom($_SERVER['SEED_SCALE'] ?? ''));
} catch (Throwable $e) {
    // A bug, not the caller's fault: the details go to the log only, as the
    // Go services do with a panic.
    ItemPhp\Log::error('internal error', $method, $e);
    $answer = ItemPhp\Status::error(ItemPhp\Status::INTERNAL, 'internal error');
}
header('Content-Type: application/x-protobuf');
header('Grpc-Status: ' . $answer->code);
if ($answer->message !== '') {
    header('Grpc-Message: ' . rawurlencode($answer->message));
}
echo $answer->body;
ItemPhp\Log::call($method, $answer, hrtime(true) - $start);
