<?php
declare(strict_types=1);

namespace ItemPhp;

use Item\V1\BatchGetItemsRequest;
use Item\V1\BatchGetItemsResponse;
use Item\V1\GetItemRequest;
use Item\V1\ListItemsRequest;
use Item\V1\ListItemsResponse;

// ItemService answers the three methods of item.v1.ItemService with the
// Go item service's answers (services/item/itemservice), word for word:
// the same checks in the same order (services/internal/validate) and the
// same messages.
final class ItemService
{
    // At most this many ids in one call (validate.MaxIDs).
    public const MAX_IDS = 10000;

    public static function handle(string $method, string $body, int $scale): Status
    {
        switch ($method) {
            case '/item.v1.ItemService/GetItem':
                $req = new GetItemRequest();
                $req->mergeFromString($body);
                return self::getItem($req, $scale);
            case '/item.v1.ItemService/ListItems':
                $req = new ListItemsRequest();
                $req->mergeFromString($body);
                return Status::ok((new ListItemsResponse())->setItems(Seed::items($scale)));
            case '/item.v1.ItemService/BatchGetItems':
                $req = new BatchGetItemsRequest();
                $req->mergeFromString($body);
                return self::batchGetItems($req, $scale);
            case '/healthz':
                // The bridge's probe: PHP-FPM runs this script and the
                // generated classes load.
                new ListItemsRequest();
                return Status::error(Status::OK, '');
        }
        return Status::error(Status::UNIMPLEMENTED, "unknown method $method for service item.v1.ItemService");
    }

    private static function getItem(GetItemRequest $req, int $scale): Status
    {
        $id = (int) $req->getId();
        if ($id <= 0) {
            return Status::error(Status::INVALID_ARGUMENT, "id must be a positive integer, got $id");
        }
        $item = Seed::item($scale, $id);
        if ($item === null) {
            return self::notFound($id);
        }
        return Status::ok($item);
    }

    // batchGetItems returns the items asked for, in the order asked (an id
    // asked twice comes back twice); one unknown id fails the call naming it.
    private static function batchGetItems(BatchGetItemsRequest $req, int $scale): Status
    {
        $ids = iterator_to_array($req->getIds(), false);
        if (count($ids) > self::MAX_IDS) {
            return Status::error(Status::INVALID_ARGUMENT, 'ids takes at most ' . self::MAX_IDS . ' ids, got ' . count($ids));
        }
        foreach ($ids as $i => $id) {
            if ((int) $id <= 0) {
                return Status::error(Status::INVALID_ARGUMENT, "ids[$i] must be a positive integer, got $id");
            }
        }
        $items = [];
        foreach ($ids as $id) {
            $item = Seed::item($scale, (int) $id);
            if ($item === null) {
                return self::notFound((int) $id);
            }
            $items[] = $item;
        }
        return Status::ok((new BatchGetItemsResponse())->setItems($items));
    }

    private static function notFound(int $id): Status
    {
        return Status::error(Status::NOT_FOUND, "item $id not found");
    }
}
